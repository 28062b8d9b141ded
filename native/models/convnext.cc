// ConvNeXt forward passes, initialisation and checkpoint adaptation, following timm/models/convnext.py.
#include "models/convnext.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <regex>
#include <sstream>

#include "models/layers/classifier.h"
#include "models/layers/depthwise_conv_cpu.h"
#include "models/layers/grad_checkpoint.h"
#include "models/layers/init.h"
#include "models/layers/linear.h"
#include "models/registry.h"

namespace foldtorch {

namespace {

torch::nn::Conv2d MakeConv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0,
                           int64_t groups = 1) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).groups(groups));
}

std::vector<torch::Tensor> ParametersOf(const torch::nn::Module& module) {
  std::vector<torch::Tensor> out;
  for (const auto& p : module.parameters()) out.push_back(p);
  return out;
}

}  // namespace

// ---- block ----

ConvNextBlockImpl::ConvNextBlockImpl(int64_t channels, const ConvNextConfig& c) : conv_mlp_(c.conv_mlp) {
  gamma_ = register_parameter("gamma", at::full({channels}, c.ls_init_value));
  conv_dw_ = register_module("conv_dw", MakeConv(channels, channels, c.kernel_size, 1, c.kernel_size / 2, channels));
  mlp_ = std::make_shared<torch::nn::Module>();
  const int64_t hidden = 4 * channels;
  if (conv_mlp_) {
    norm_2d_ = register_module("norm", layers::LayerNorm2d(channels, c.norm_eps));
    fc1_conv_ = mlp_->register_module("fc1", MakeConv(channels, hidden, 1));
    fc2_conv_ = mlp_->register_module("fc2", MakeConv(hidden, channels, 1));
  } else {
    norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({channels}).eps(c.norm_eps)));
    fc1_ = mlp_->register_module("fc1", torch::nn::Linear(channels, hidden));
    fc2_ = mlp_->register_module("fc2", torch::nn::Linear(hidden, channels));
  }
  register_module("mlp", mlp_);
}

torch::Tensor ConvNextBlockImpl::forward(const torch::Tensor& input) {
  const auto& w = conv_dw_->weight;
  auto x =
      layers::depthwise_conv_train_applies(input, w, conv_dw_->bias, w.size(0))
          ? layers::depthwise_conv2d_train(input, w, conv_dw_->bias, 1, layers::DepthwisePadding::Even(w.size(2) / 2))
          : conv_dw_->forward(input);
  if (conv_mlp_) {
    x = fc2_conv_->forward(at::gelu(fc1_conv_->forward(norm_2d_->forward(x))));
  } else {
    x = x.permute({0, 2, 3, 1});
    x = layers::linear(fc2_, at::gelu(layers::linear(fc1_, norm_->forward(x))));
    x = x.permute({0, 3, 1, 2});
  }
  return x.mul(gamma_.reshape({1, -1, 1, 1})) + input;
}

// ---- model ----

ConvNextImpl::ConvNextImpl(const ConvNextConfig& config, PretrainedConfig pretrained)
    : config_(config), pretrained_(std::move(pretrained)) {
  const auto& c = config_;
  TORCH_CHECK(c.depths.size() == 4 && c.dims.size() == 4, "convnext: depths and dims need 4 entries (got ",
              c.depths.size(), " and ", c.dims.size(), ")");
  stem_ = register_module("stem", torch::nn::Sequential(MakeConv(c.in_chans, c.dims[0], c.patch_size, c.patch_size),
                                                        layers::LayerNorm2d(c.dims[0], c.norm_eps)));
  stages_ = register_module("stages", torch::nn::ModuleList());
  int64_t previous = c.dims[0];
  for (size_t i = 0; i < 4; ++i) {
    auto stage = std::make_shared<torch::nn::Module>();
    torch::nn::Sequential downsample{nullptr};
    if (i > 0) {
      downsample = stage->register_module("downsample", torch::nn::Sequential(layers::LayerNorm2d(previous, c.norm_eps),
                                                                              MakeConv(previous, c.dims[i], 2, 2)));
    }
    auto blocks = stage->register_module("blocks", torch::nn::ModuleList());
    for (int64_t b = 0; b < c.depths[i]; ++b) blocks->push_back(ConvNextBlock(c.dims[i], c));
    stages_->push_back(stage);
    downsample_.push_back(downsample);
    blocks_.push_back(blocks);
    previous = c.dims[i];
  }
  head_ = std::make_shared<torch::nn::Module>();
  head_norm_ = head_->register_module("norm", layers::LayerNorm2d(previous, c.norm_eps));
  if (c.num_classes > 0) head_fc_ = head_->register_module("fc", torch::nn::Linear(previous, c.num_classes));
  register_module("head", head_);
  init_weights();
}

void ConvNextImpl::init_weights() {
  at::NoGradGuard no_grad;
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<torch::nn::Conv2d>()) {
      layers::trunc_normal_(conv->weight, 0.02);
      conv->bias.zero_();
    } else if (auto* linear = module->as<torch::nn::Linear>()) {
      layers::trunc_normal_(linear->weight, 0.02);
      linear->bias.zero_();
    } else if (auto* norm = module->as<torch::nn::LayerNorm>()) {
      norm->reset_parameters();
    } else if (auto* norm2d = module->as<layers::LayerNorm2d>()) {
      norm2d->reset_parameters();
    }
  }
  for (auto& p : named_parameters()) {
    if (p.key().size() >= 6 && p.key().compare(p.key().size() - 6, 6, ".gamma") == 0)
      p.value().fill_(config_.ls_init_value);
  }
  if (head_fc_) {
    head_fc_->weight.mul_(config_.head_init_scale);
    head_fc_->bias.mul_(config_.head_init_scale);
  }
}

std::vector<std::pair<std::string, std::string>> ConvNextImpl::parameter_stages() const {
  std::vector<std::pair<std::string, std::string>> out{{"stem", R"(^stem\.)"}};
  for (size_t i = 0; i < blocks_.size(); ++i)
    out.emplace_back("stages." + std::to_string(i), R"(^stages\.)" + std::to_string(i) + R"(\.)");
  out.emplace_back("head", R"(^head\.norm\.)");
  out.emplace_back("classifier", R"(^head\.fc\.)");
  return out;
}

void ConvNextImpl::set_channels_last(bool enable) {
  channels_last_ = enable;
  layers::set_weights_channels_last(*this, enable);
}

torch::Tensor ConvNextImpl::run_stage(size_t index, torch::Tensor x) {
  if (downsample_[index]) x = downsample_[index]->forward(x);
  auto& blocks = blocks_[index];
  for (size_t b = 0; b < blocks->size(); ++b) {
    auto block = blocks->ptr<ConvNextBlockImpl>(b);
    if (grad_checkpointing_ && at::GradMode::is_enabled()) {
      x = layers::checkpoint([block](const at::Tensor& input) { return block->forward(input); }, x,
                             ParametersOf(*block));
    } else {
      x = block->forward(x);
    }
  }
  return x;
}

torch::Tensor ConvNextImpl::forward_features(const torch::Tensor& images) {
  check_input(images);
  auto x = stem_->forward(channels_last_ ? images.contiguous(at::MemoryFormat::ChannelsLast) : images);
  for (size_t i = 0; i < 4; ++i) x = run_stage(i, x);
  return x;
}

torch::Tensor ConvNextImpl::forward_head(const torch::Tensor& features, bool pre_logits) {
  auto pooled = head_norm_->forward(features.mean({2, 3}, /*keepdim=*/true)).flatten(1);
  if (pre_logits || !head_fc_) return pooled;
  return layers::linear(head_fc_, pooled);
}

NamedOutputs ConvNextImpl::forward_intermediates(const torch::Tensor& images) {
  check_input(images);
  NamedOutputs out;
  auto x = stem_->forward(channels_last_ ? images.contiguous(at::MemoryFormat::ChannelsLast) : images);
  out.emplace_back("stem", x);
  for (size_t i = 0; i < 4; ++i) {
    x = run_stage(i, x);
    out.emplace_back("stage_" + std::to_string(i), x);
  }
  out.emplace_back("features", x);
  out.emplace_back("pre_logits", forward_head(x, true));
  out.emplace_back("logits", forward_head(x, false));
  return out;
}

void ConvNextImpl::reset_classifier(int64_t num_classes) {
  config_.num_classes = num_classes;
  head_fc_ = layers::reset_linear(*head_, "fc", head_fc_, config_.dims.back(), num_classes);
}

void ConvNextImpl::filter_checkpoint(std::map<std::string, torch::Tensor>& tensors,
                                     std::vector<std::string>& resampled) const {
  (void)resampled;
  if (tensors.count("head.norm.weight") || tensors.count("norm_pre.weight")) return;  // already timm's names
  if (!tensors.count("downsample_layers.0.0.weight"))
    return;  // not an original FB checkpoint either: strict load reports it
  // The original facebookresearch/ConvNeXt names.
  static const std::regex kStageBlock(R"(^stages\.([0-9]+)\.([0-9]+)\.)");
  static const std::regex kDownsample(R"(^downsample_layers\.([0-9]+)\.([0-9]+)\.)");
  const auto shapes = named_parameters();
  std::map<std::string, torch::Tensor> out;
  for (auto& [raw_key, value] : tensors) {
    std::string key = raw_key;
    if (key.rfind("downsample_layers.0.", 0) == 0) key = "stem." + key.substr(20);
    key = std::regex_replace(key, kStageBlock, "stages.$1.blocks.$2.");
    key = std::regex_replace(key, kDownsample, "stages.$1.downsample.$2.");
    auto replace = [&key](const std::string& from, const std::string& to) {
      const auto at = key.find(from);
      if (at != std::string::npos) key.replace(at, from.size(), to);
    };
    replace("dwconv", "conv_dw");
    replace("pwconv", "mlp.fc");
    if (key.rfind("head.", 0) == 0) key = "head.fc." + key.substr(5);
    if (key.rfind("norm.", 0) == 0) key = "head." + key;
    // conv_mlp models store the 1×1 convs as Linear weights.
    if (value.dim() == 2 && key.find("head") == std::string::npos && shapes.contains(key) &&
        shapes[key].numel() == value.numel()) {
      value = value.reshape(shapes[key].sizes());
    }
    out[key] = value;
  }
  tensors.swap(out);
}

// ---- memory, from the config alone ----

MemoryEstimate estimate_memory(const ConvNextConfig& c, int64_t batch, bool grad_checkpointing) {
  const double samples = static_cast<double>(batch), kernel = static_cast<double>(c.kernel_size * c.kernel_size);
  const double stem = static_cast<double>(c.dims[0]), patch = static_cast<double>(c.patch_size);
  MemoryEstimate m;
  m.parameters = static_cast<double>(c.in_chans) * stem * patch * patch + stem + 2 * stem;  // stem conv + LayerNorm2d
  m.activations = samples * static_cast<double>(c.in_chans * c.img_size.height * c.img_size.width);
  int64_t height = c.img_size.height / c.patch_size, width = c.img_size.width / c.patch_size;
  double previous = stem;
  for (size_t i = 0; i < 4; ++i) {
    const double dim = static_cast<double>(c.dims[i]);
    if (i > 0) {
      height /= 2;
      width /= 2;
      m.parameters += 2 * previous + previous * dim * 4 + dim;  // LayerNorm2d + 2×2 stride-2 conv
    }
    const double positions = samples * static_cast<double>(height * width), depth = static_cast<double>(c.depths[i]);
    // gamma, depthwise conv, norm, fc1 (4×), fc2: the same count as 1×1 convs (conv_mlp) or Linear layers.
    m.parameters += depth * (dim + (dim * kernel + dim) + 2 * dim + (4 * dim * dim + 4 * dim) + (4 * dim * dim + dim));
    // Per position and block autograd keeps the input, conv and norm outputs, fc1 and GELU (4× wide), fc2 and gamma.
    const double block = 13 * dim * positions;
    m.activations += 2 * dim * positions + (grad_checkpointing ? depth * dim * positions + block : depth * block);
    previous = dim;
  }
  const double classes = static_cast<double>(c.num_classes);
  m.parameters += 2 * previous + (c.num_classes > 0 ? previous * classes + classes : 0);
  m.activations += samples * (3 * previous + 2 * classes);
  return m;
}

// ---- named variants (timm v1.0.28's entrypoints and pretrained cfgs) ----

namespace {

struct ConvNextArgs {
  const char* name;
  int64_t depths[4], dims[4];
  bool conv_mlp;
};

constexpr ConvNextArgs kConvNextArgs[] = {
    {"convnext_atto", {2, 2, 6, 2}, {40, 80, 160, 320}, true},
    {"convnext_femto", {2, 2, 6, 2}, {48, 96, 192, 384}, true},
    {"convnext_pico", {2, 2, 6, 2}, {64, 128, 256, 512}, true},
    {"convnext_nano", {2, 2, 8, 2}, {80, 160, 320, 640}, true},
    {"convnext_tiny", {3, 3, 9, 3}, {96, 192, 384, 768}, false},
    {"convnext_small", {3, 3, 27, 3}, {96, 192, 384, 768}, false},
    {"convnext_base", {3, 3, 27, 3}, {128, 256, 512, 1024}, false},
    {"convnext_large", {3, 3, 27, 3}, {192, 384, 768, 1536}, false},
    {"convnext_xlarge", {3, 3, 27, 3}, {256, 512, 1024, 2048}, false},
};

struct ConvNextTag {
  const char* model;
  const char* tag;
  int64_t num_classes, input_size;
  double crop_pct;
  bool clip;  // CLIP's mean/std, else ImageNet's
};

// In timm's order (the first of a model is its default); all bicubic, centre crop.
constexpr ConvNextTag kConvNextTags[] = {
    {"convnext_atto", "d2_in1k", 1000, 224, 0.875, false},
    {"convnext_femto", "d1_in1k", 1000, 224, 0.875, false},
    {"convnext_pico", "d1_in1k", 1000, 224, 0.875, false},
    {"convnext_nano", "in12k_ft_in1k", 1000, 224, 0.95, false},
    {"convnext_nano", "d1h_in1k", 1000, 224, 0.95, false},
    {"convnext_nano", "r384_in12k_ft_in1k", 1000, 384, 1.0, false},
    {"convnext_nano", "in12k", 11821, 224, 0.95, false},
    {"convnext_nano", "r384_in12k", 11821, 384, 1.0, false},
    {"convnext_nano", "r384_ad_in12k", 11821, 384, 1.0, false},
    {"convnext_tiny", "in12k_ft_in1k", 1000, 224, 0.95, false},
    {"convnext_tiny", "in12k_ft_in1k_384", 1000, 384, 1.0, false},
    {"convnext_tiny", "in12k", 11821, 224, 0.95, false},
    {"convnext_tiny", "fb_in22k_ft_in1k", 1000, 224, 0.875, false},
    {"convnext_tiny", "fb_in1k", 1000, 224, 0.875, false},
    {"convnext_tiny", "fb_in22k_ft_in1k_384", 1000, 384, 1.0, false},
    {"convnext_tiny", "fb_in22k", 21841, 224, 0.875, false},
    {"convnext_tiny", "dinov3_lvd1689m", 0, 224, 1.0, false},
    {"convnext_tiny", "eupe_lvd1689m", 0, 256, 1.0, false},
    {"convnext_small", "in12k_ft_in1k", 1000, 224, 0.95, false},
    {"convnext_small", "in12k_ft_in1k_384", 1000, 384, 1.0, false},
    {"convnext_small", "in12k", 11821, 224, 0.95, false},
    {"convnext_small", "fb_in22k_ft_in1k", 1000, 224, 0.875, false},
    {"convnext_small", "fb_in1k", 1000, 224, 0.875, false},
    {"convnext_small", "fb_in22k_ft_in1k_384", 1000, 384, 1.0, false},
    {"convnext_small", "fb_in22k", 21841, 224, 0.875, false},
    {"convnext_small", "dinov3_lvd1689m", 0, 224, 1.0, false},
    {"convnext_small", "eupe_lvd1689m", 0, 256, 1.0, false},
    {"convnext_base", "fb_in22k_ft_in1k", 1000, 224, 0.875, false},
    {"convnext_base", "fb_in1k", 1000, 224, 0.875, false},
    {"convnext_base", "fb_in22k_ft_in1k_384", 1000, 384, 1.0, false},
    {"convnext_base", "fb_in22k", 21841, 224, 0.875, false},
    {"convnext_base", "clip_laion2b_augreg_ft_in12k_in1k", 1000, 256, 1.0, true},
    {"convnext_base", "clip_laion2b_augreg_ft_in12k_in1k_384", 1000, 384, 1.0, true},
    {"convnext_base", "clip_laion2b_augreg_ft_in1k", 1000, 256, 1.0, true},
    {"convnext_base", "clip_laiona_augreg_ft_in1k_384", 1000, 384, 1.0, true},
    {"convnext_base", "clip_laion2b_augreg_ft_in12k", 11821, 256, 1.0, true},
    {"convnext_base", "clip_laion2b", 640, 256, 1.0, true},
    {"convnext_base", "clip_laion2b_augreg", 640, 256, 1.0, true},
    {"convnext_base", "clip_laiona", 640, 256, 1.0, true},
    {"convnext_base", "clip_laiona_320", 640, 320, 1.0, true},
    {"convnext_base", "clip_laiona_augreg_320", 640, 320, 1.0, true},
    {"convnext_base", "dinov3_lvd1689m", 0, 224, 1.0, false},
    {"convnext_base", "eupe_lvd1689m", 0, 256, 1.0, false},
    {"convnext_large", "fb_in22k_ft_in1k", 1000, 224, 0.875, false},
    {"convnext_large", "fb_in1k", 1000, 224, 0.875, false},
    {"convnext_large", "fb_in22k_ft_in1k_384", 1000, 384, 1.0, false},
    {"convnext_large", "fb_in22k", 21841, 224, 0.875, false},
    {"convnext_large", "dinov3_lvd1689m", 0, 224, 1.0, false},
    {"convnext_xlarge", "fb_in22k_ft_in1k", 1000, 224, 0.875, false},
    {"convnext_xlarge", "fb_in22k_ft_in1k_384", 1000, 384, 1.0, false},
    {"convnext_xlarge", "fb_in22k", 21841, 224, 0.875, false},
};

std::string IntList(const int64_t* values) {
  std::string out = "[";
  for (int i = 0; i < 4; ++i) out += (i ? "," : "") + std::to_string(values[i]);
  return out + "]";
}

ConvNextConfig ConvNextConfigFor(const ModelEntry& entry, const PretrainedConfig& tag, const CreateOptions& options) {
  const ConvNextArgs* a = std::find_if(std::begin(kConvNextArgs), std::end(kConvNextArgs),
                                       [&](const ConvNextArgs& x) { return entry.name == x.name; });
  ConvNextConfig c;
  c.depths = options.arch.integers("depths").value_or(std::vector<int64_t>(a->depths, a->depths + 4));
  c.dims = options.arch.integers("dims").value_or(std::vector<int64_t>(a->dims, a->dims + 4));
  c.conv_mlp = options.arch.flag("conv_mlp").value_or(a->conv_mlp);
  c.num_classes = options.num_classes.value_or(tag.num_classes);
  c.img_size = requested_size(options, tag);
  TORCH_CHECK_VALUE(c.img_size.height >= 32 && c.img_size.width >= 32, "convnext: img_size must be at least 32 (got [",
                    c.img_size.height, ", ", c.img_size.width, "])");
  return c;
}

Classifier CreateConvNext(const ModelEntry& entry, const PretrainedConfig& tag, const CreateOptions& options) {
  return std::make_shared<ConvNextImpl>(ConvNextConfigFor(entry, tag, options), tag);
}

MemoryEstimate EstimateConvNext(const ModelEntry& entry, const PretrainedConfig& tag, const CreateOptions& options,
                                int64_t batch, bool grad_checkpointing) {
  return estimate_memory(ConvNextConfigFor(entry, tag, options), batch, grad_checkpointing);
}

}  // namespace

ModelFamily convnext_family() {
  ModelFamily family{"convnext", {}, {}, CreateConvNext, EstimateConvNext};
  for (const auto& a : kConvNextArgs) {
    family.entries.push_back({a.name,
                              "convnext",
                              {},
                              "{\"depths\":" + IntList(a.depths) + ",\"dims\":" + IntList(a.dims) +
                                  ",\"conv_mlp\":" + (a.conv_mlp ? "true" : "false") + "}"});
  }
  for (const auto& row : kConvNextTags) {
    for (auto& entry : family.entries) {
      if (entry.name != row.model) continue;
      entry.tags.push_back(make_tag(row.model, row.tag, row.num_classes, row.input_size, row.crop_pct, "center",
                                    row.clip ? kClipMean : kImageNetMean, row.clip ? kClipStd : kImageNetStd));
    }
  }
  family.arch_keys = {
      {"depths", ArchKind::kIntegers, 4}, {"dims", ArchKind::kIntegers, 4}, {"conv_mlp", ArchKind::kBool}};
  return family;
}

}  // namespace foldtorch
