// EfficientNet-Lite forward passes, initialisation and variants, following timm/models/efficientnet.py and
// _efficientnet_blocks.py / _efficientnet_builder.py.
#include "models/efficientnet.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>

#include "models/layers/classifier.h"
#include "models/layers/linear.h"
#include "models/registry.h"

namespace foldtorch {

namespace {

layers::BatchNormAct2d MakeNorm(int64_t channels, const EfficientNetConfig& c, bool relu6) {
  return layers::BatchNormAct2d(channels, layers::BatchNormActOptions{c.bn_eps, c.bn_momentum, relu6});
}

// Stochastic depth per sample (timm's drop_path), identity outside training.
torch::Tensor DropPath(const torch::Tensor& x, double rate, bool training) {
  if (rate <= 0.0 || !training) return x;
  const double keep = 1.0 - rate;
  auto mask = at::empty({x.size(0), 1, 1, 1}, x.options()).bernoulli_(keep);
  return x * mask.div_(keep);
}

// conv → BatchNorm (→ ReLU6). With running statistics the BatchNorm is folded into the convolution's weight and
// bias: one pass over the activations instead of two (evaluation, TTA, frozen-BN fine-tuning); the gradient
// still reaches the conv and BN parameters through the folding.
torch::Tensor ConvNorm(layers::Conv2dSame& conv, layers::BatchNormAct2d& bn, const torch::Tensor& x) {
  if (!bn->uses_running_statistics()) return bn->forward(conv->forward(x));
  auto [scale, shift] = bn->running_affine();
  return bn->activate(conv->forward_with(x, conv->weight * scale.reshape({-1, 1, 1, 1}), shift));
}

}  // namespace

int64_t round_channels(double channels, int64_t divisor) {
  int64_t rounded = std::max<int64_t>(divisor, static_cast<int64_t>(channels + divisor / 2.0) / divisor * divisor);
  if (static_cast<double>(rounded) < 0.9 * channels) rounded += divisor;
  return rounded;
}

// ---- blocks ----

DepthwiseSeparableImpl::DepthwiseSeparableImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                                               double drop_path, const EfficientNetConfig& c)
    : has_skip_(stride == 1 && in == out), drop_path_(drop_path) {
  conv_dw_ = register_module("conv_dw", layers::Conv2dSame(in, in, kernel, stride, in));
  bn1_ = register_module("bn1", MakeNorm(in, c, true));
  conv_pw_ = register_module("conv_pw", layers::Conv2dSame(in, out, 1));
  bn2_ = register_module("bn2", MakeNorm(out, c, false));
}

torch::Tensor DepthwiseSeparableImpl::forward(const torch::Tensor& x) {
  auto y = ConvNorm(conv_pw_, bn2_, ConvNorm(conv_dw_, bn1_, x));
  return has_skip_ ? DropPath(y, drop_path_, is_training()) + x : y;
}

InvertedResidualImpl::InvertedResidualImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t expansion,
                                           double drop_path, const EfficientNetConfig& c)
    : has_skip_(stride == 1 && in == out), drop_path_(drop_path) {
  const int64_t mid = round_channels(static_cast<double>(in * expansion));
  conv_pw_ = register_module("conv_pw", layers::Conv2dSame(in, mid, 1));
  bn1_ = register_module("bn1", MakeNorm(mid, c, true));
  conv_dw_ = register_module("conv_dw", layers::Conv2dSame(mid, mid, kernel, stride, mid));
  bn2_ = register_module("bn2", MakeNorm(mid, c, true));
  conv_pwl_ = register_module("conv_pwl", layers::Conv2dSame(mid, out, 1));
  bn3_ = register_module("bn3", MakeNorm(out, c, false));
}

torch::Tensor InvertedResidualImpl::forward(const torch::Tensor& x) {
  auto y = ConvNorm(conv_pw_, bn1_, x);
  y = ConvNorm(conv_dw_, bn2_, y);
  y = ConvNorm(conv_pwl_, bn3_, y);
  return has_skip_ ? DropPath(y, drop_path_, is_training()) + x : y;
}

// ---- model ----

std::vector<int64_t> scaled_stage_depths(const std::vector<EfficientNetStage>& stages, double depth_multiplier) {
  std::vector<int64_t> depths;
  for (size_t i = 0; i < stages.size(); ++i) {
    const bool fixed = i == 0 || i + 1 == stages.size();  // fix_first_last
    depths.push_back(fixed
                         ? stages[i].repeats
                         : static_cast<int64_t>(std::ceil(static_cast<double>(stages[i].repeats) * depth_multiplier)));
  }
  return depths;
}

std::vector<int64_t> EfficientNetImpl::stage_depths() const {
  return scaled_stage_depths(config_.stages, config_.depth_multiplier);
}

EfficientNetImpl::EfficientNetImpl(const EfficientNetConfig& config, PretrainedConfig pretrained)
    : config_(config), pretrained_(std::move(pretrained)) {
  const auto& c = config_;
  TORCH_CHECK(!c.stages.empty() && c.stages.front().depthwise_separable, "efficientnet: the first stage must be ds");
  conv_stem_ = register_module("conv_stem", layers::Conv2dSame(3, c.stem_channels, 3, 2));
  bn1_ = register_module("bn1", MakeNorm(c.stem_channels, c, true));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  const auto depths = stage_depths();
  int64_t total_blocks = 0;
  for (auto d : depths) total_blocks += d;
  int64_t in = c.stem_channels, index = 0;
  for (size_t s = 0; s < c.stages.size(); ++s) {
    const auto& stage = c.stages[s];
    const int64_t out = round_channels(static_cast<double>(stage.channels) * c.channel_multiplier);
    auto blocks = torch::nn::ModuleList();
    std::vector<std::shared_ptr<EfficientBlockImpl>> held;
    for (int64_t j = 0; j < depths[s]; ++j, ++index) {
      const int64_t stride = j == 0 ? stage.stride : 1;
      const double drop_path = c.drop_path_rate * static_cast<double>(index) / static_cast<double>(total_blocks);
      std::shared_ptr<EfficientBlockImpl> block;
      if (stage.depthwise_separable) {
        block = std::make_shared<DepthwiseSeparableImpl>(in, out, stage.kernel, stride, drop_path, c);
      } else {
        block = std::make_shared<InvertedResidualImpl>(in, out, stage.kernel, stride, stage.expansion, drop_path, c);
      }
      blocks->push_back(block);
      held.push_back(block);
      in = out;
    }
    blocks_->push_back(blocks);
    stages_.push_back(std::move(held));
  }
  conv_head_ = register_module("conv_head", layers::Conv2dSame(in, c.num_features, 1));
  bn2_ = register_module("bn2", MakeNorm(c.num_features, c, true));
  if (c.num_classes > 0) classifier_ = register_module("classifier", torch::nn::Linear(c.num_features, c.num_classes));
  init_weights();
}

void EfficientNetImpl::init_weights() {
  at::NoGradGuard no_grad;
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<layers::Conv2dSameImpl>()) {
      const auto fan_out = conv->kernel() * conv->kernel() * conv->weight.size(0) / conv->groups();
      conv->weight.normal_(0.0, std::sqrt(2.0 / static_cast<double>(fan_out)));
    } else if (auto* norm = module->as<layers::BatchNormAct2dImpl>()) {
      norm->reset_parameters();
    } else if (auto* linear = module->as<torch::nn::LinearImpl>()) {
      const double range = 1.0 / std::sqrt(static_cast<double>(linear->weight.size(0)));
      linear->weight.uniform_(-range, range);
      linear->bias.zero_();
    }
  }
}

void EfficientNetImpl::set_grad_checkpointing(bool enable) {
  // Recomputing a block would update its BatchNorm running statistics a second time.
  TORCH_CHECK_VALUE(!enable,
                    "efficientnet: gradient checkpointing is not supported (recomputing a block would update its "
                    "BatchNorm running statistics twice)");
}

void EfficientNetImpl::set_channels_last(bool enable) {
  channels_last_ = enable;
  layers::set_weights_channels_last(*this, enable);
}

void EfficientNetImpl::set_batch_norm_frozen(bool frozen) {
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* norm = module->as<layers::BatchNormAct2dImpl>()) norm->set_frozen(frozen);
  }
}

std::vector<std::pair<std::string, std::string>> EfficientNetImpl::parameter_stages() const {
  std::vector<std::pair<std::string, std::string>> out{{"stem", R"(^(conv_stem|bn1)\.)"}};
  for (size_t s = 0; s < stages_.size(); ++s)
    out.emplace_back("blocks." + std::to_string(s), R"(^blocks\.)" + std::to_string(s) + R"(\.)");
  out.emplace_back("head", R"(^(conv_head|bn2)\.)");
  out.emplace_back("classifier", R"(^classifier\.)");
  return out;
}

torch::Tensor EfficientNetImpl::checked_input(const torch::Tensor& images) const {
  check_input(images);
  return channels_last_ ? images.contiguous(at::MemoryFormat::ChannelsLast) : images;
}

torch::Tensor EfficientNetImpl::forward_features(const torch::Tensor& images) {
  auto x = ConvNorm(conv_stem_, bn1_, checked_input(images));
  for (auto& stage : stages_) {
    for (auto& block : stage) x = block->forward(x);
  }
  return ConvNorm(conv_head_, bn2_, x);
}

torch::Tensor EfficientNetImpl::forward_head(const torch::Tensor& features, bool pre_logits) {
  auto pooled = features.mean({2, 3});
  if (pre_logits || !classifier_) return pooled;
  if (config_.drop_rate > 0.0) pooled = at::dropout(pooled, config_.drop_rate, is_training());
  return layers::linear(classifier_, pooled);
}

// The stem and head convolutions unfused, to record their outputs before BatchNorm; the blocks as forward runs them.
NamedOutputs EfficientNetImpl::forward_intermediates(const torch::Tensor& images) {
  NamedOutputs out;
  auto x = conv_stem_->forward(checked_input(images));
  out.emplace_back("stem_conv", x);
  x = bn1_->forward(x);
  out.emplace_back("stem", x);
  for (size_t s = 0; s < stages_.size(); ++s) {
    for (size_t j = 0; j < stages_[s].size(); ++j) {
      x = stages_[s][j]->forward(x);
      out.emplace_back("block_" + std::to_string(s) + "_" + std::to_string(j), x);
    }
    out.emplace_back("stage_" + std::to_string(s), x);
  }
  x = conv_head_->forward(x);
  out.emplace_back("head_conv", x);
  x = bn2_->forward(x);
  out.emplace_back("features", x);
  out.emplace_back("pre_logits", forward_head(x, true));
  out.emplace_back("logits", forward_head(x, false));
  return out;
}

void EfficientNetImpl::reset_classifier(int64_t num_classes) {
  config_.num_classes = num_classes;
  classifier_ = layers::reset_linear(*this, "classifier", classifier_, config_.num_features, num_classes);
}

// ---- memory, from the config alone ----

namespace {

// What one conv → BatchNorm (→ ReLU6) adds: `weights` conv elements, the norm's affine pair and statistics, and
// the tensors autograd keeps at the output (conv, norm and activation outputs).
void AddConvNorm(MemoryEstimate& m, double weights, double channels, double positions, bool activated) {
  m.parameters += weights + 2 * channels;
  m.buffers += 2 * channels + 1;
  m.activations += (activated ? 3 : 2) * channels * positions;
}

int64_t SameOutput(int64_t size, int64_t stride) { return (size + stride - 1) / stride; }

}  // namespace

MemoryEstimate estimate_memory(const EfficientNetConfig& c, int64_t batch) {
  const double samples = static_cast<double>(batch);
  MemoryEstimate m;
  m.activations = samples * static_cast<double>(3 * c.img_size.height * c.img_size.width);
  int64_t height = SameOutput(c.img_size.height, 2), width = SameOutput(c.img_size.width, 2);
  auto positions = [&] { return samples * static_cast<double>(height * width); };
  AddConvNorm(m, 3.0 * static_cast<double>(c.stem_channels) * 9, static_cast<double>(c.stem_channels), positions(),
              true);
  const auto depths = scaled_stage_depths(c.stages, c.depth_multiplier);
  int64_t in = c.stem_channels;
  for (size_t s = 0; s < c.stages.size(); ++s) {
    const auto& stage = c.stages[s];
    const int64_t out = round_channels(static_cast<double>(stage.channels) * c.channel_multiplier);
    const double kernel = static_cast<double>(stage.kernel * stage.kernel);
    for (int64_t j = 0; j < depths[s]; ++j) {
      const int64_t stride = j == 0 ? stage.stride : 1;
      if (stage.depthwise_separable) {
        height = SameOutput(height, stride);
        width = SameOutput(width, stride);
        AddConvNorm(m, static_cast<double>(in) * kernel, static_cast<double>(in), positions(), true);
      } else {
        const int64_t mid = round_channels(static_cast<double>(in * stage.expansion));
        AddConvNorm(m, static_cast<double>(in * mid), static_cast<double>(mid), positions(), true);
        height = SameOutput(height, stride);
        width = SameOutput(width, stride);
        AddConvNorm(m, static_cast<double>(mid) * kernel, static_cast<double>(mid), positions(), true);
        in = mid;
      }
      AddConvNorm(m, static_cast<double>(in * out), static_cast<double>(out), positions(), false);
      in = out;
    }
  }
  const double features = static_cast<double>(c.num_features), classes = static_cast<double>(c.num_classes);
  AddConvNorm(m, static_cast<double>(in) * features, features, positions(), true);
  if (c.num_classes > 0) m.parameters += features * classes + classes;
  m.activations += samples * (features + 2 * classes);
  return m;
}

// ---- named variants (timm's tf_efficientnet_lite* entrypoints) ----

namespace {

// ds_r1_k3_s1_e1_c16, ir_r2_k3_s2_e6_c24, ir_r2_k5_s2_e6_c40, ir_r3_k3_s2_e6_c80, ir_r3_k5_s1_e6_c112,
// ir_r4_k5_s2_e6_c192, ir_r1_k3_s1_e6_c320
const std::vector<EfficientNetStage> kLiteStages = {
    {true, 1, 3, 1, 1, 16},   {false, 2, 3, 2, 6, 24},  {false, 2, 5, 2, 6, 40},  {false, 3, 3, 2, 6, 80},
    {false, 3, 5, 1, 6, 112}, {false, 4, 5, 2, 6, 192}, {false, 1, 3, 1, 6, 320},
};

struct LiteArgs {
  const char* name;
  double channel_multiplier, depth_multiplier;
  int64_t input_size;
  double crop_pct;
  const char* interpolation;
};

constexpr LiteArgs kLiteArgs[] = {
    {"tf_efficientnet_lite0", 1.0, 1.0, 224, 0.875, "bicubic"},
    {"tf_efficientnet_lite1", 1.0, 1.1, 240, 0.882, "bicubic"},
    {"tf_efficientnet_lite2", 1.1, 1.2, 260, 0.890, "bicubic"},
    {"tf_efficientnet_lite3", 1.2, 1.4, 300, 0.904, "bilinear"},
    {"tf_efficientnet_lite4", 1.4, 1.8, 380, 0.920, "bilinear"},
};

// timm's model_args of _gen_efficientnet_lite: the decoded block args (depth-scaled, channels before rounding),
// and the builder's keywords as the registry dump writes them.
std::string LiteArgsJson(const LiteArgs& a) {
  const auto depths = scaled_stage_depths(kLiteStages, a.depth_multiplier);
  std::string blocks = "[";
  for (size_t s = 0; s < kLiteStages.size(); ++s) {
    const auto& st = kLiteStages[s];
    std::string block = "{\"block_type\":\"" + std::string(st.depthwise_separable ? "ds" : "ir") +
                        "\",\"out_chs\":" + std::to_string(st.channels) + ",\"stride\":" + std::to_string(st.stride) +
                        ",\"act_layer\":null,\"dw_kernel_size\":" + std::to_string(st.kernel) +
                        (st.depthwise_separable ? std::string(",\"pw_kernel_size\":1,\"se_ratio\":0,\"pw_act\":false")
                                                : ",\"exp_kernel_size\":1,\"pw_kernel_size\":1,\"exp_ratio\":" +
                                                      std::to_string(st.expansion) + ",\"se_ratio\":0") +
                        ",\"noskip\":false,\"s2d\":false}";
    blocks += (s ? ",[" : "[");
    for (int64_t j = 0; j < depths[s]; ++j) blocks += (j ? "," : "") + block;
    blocks += "]";
  }
  blocks += "]";
  return "{\"block_args\":" + blocks + ",\"num_features\":1280,\"stem_size\":32,\"fix_stem\":true," +
         "\"round_chs_fn\":{\"partial\":\"timm.models._efficientnet_builder.round_channels\",\"args\":[],\"kwargs\":{"
         "\"multiplier\":" +
         json_number(a.channel_multiplier) + "}},\"act_layer\":\"torch.nn.modules.activation.ReLU6\"," +
         "\"norm_layer\":{\"partial\":\"torch.nn.modules.batchnorm.BatchNorm2d\",\"args\":[],\"kwargs\":{\"eps\":0.001}"
         "}," +
         "\"pad_type\":\"same\",\"channel_multiplier\":" + json_number(a.channel_multiplier) +
         ",\"depth_multiplier\":" + json_number(a.depth_multiplier) + "}";
}

EfficientNetConfig EfficientNetConfigFor(const ModelEntry& entry, const PretrainedConfig& tag,
                                         const CreateOptions& options) {
  const LiteArgs* a =
      std::find_if(std::begin(kLiteArgs), std::end(kLiteArgs), [&](const LiteArgs& x) { return entry.name == x.name; });
  const auto& o = options.arch;
  EfficientNetConfig c;
  c.stages = kLiteStages;
  c.channel_multiplier = o.number("channel_multiplier").value_or(a->channel_multiplier);
  c.depth_multiplier = o.number("depth_multiplier").value_or(a->depth_multiplier);
  c.drop_rate = o.number("drop_rate").value_or(0.0);
  c.drop_path_rate = o.number("drop_path_rate").value_or(0.0);
  c.num_classes = options.num_classes.value_or(tag.num_classes);
  c.img_size = requested_size(options, tag);
  TORCH_CHECK_VALUE(c.channel_multiplier > 0 && c.depth_multiplier > 0,
                    "efficientnet: channel_multiplier and depth_multiplier must be positive");
  TORCH_CHECK_VALUE(c.drop_rate >= 0 && c.drop_rate < 1 && c.drop_path_rate >= 0 && c.drop_path_rate < 1,
                    "efficientnet: drop_rate and drop_path_rate must be in [0, 1) (got ", c.drop_rate, ", ",
                    c.drop_path_rate, ")");
  return c;
}

Classifier CreateEfficientNet(const ModelEntry& entry, const PretrainedConfig& tag, const CreateOptions& options) {
  return std::make_shared<EfficientNetImpl>(EfficientNetConfigFor(entry, tag, options), tag);
}

MemoryEstimate EstimateEfficientNet(const ModelEntry& entry, const PretrainedConfig& tag, const CreateOptions& options,
                                    int64_t batch, bool grad_checkpointing) {
  // No gradient checkpointing in this family (set_grad_checkpointing refuses it).
  (void)grad_checkpointing;
  return estimate_memory(EfficientNetConfigFor(entry, tag, options), batch);
}

}  // namespace

ModelFamily efficientnet_family() {
  ModelFamily family{"efficientnet", {}, {}, CreateEfficientNet, EstimateEfficientNet};
  for (const auto& a : kLiteArgs) {
    ModelEntry entry{a.name, "efficientnet", {}, LiteArgsJson(a)};
    entry.tags.push_back(make_tag(a.name, "in1k", 1000, a.input_size, a.crop_pct, "center", kInceptionMean,
                                  kInceptionStd, a.interpolation));
    family.entries.push_back(std::move(entry));
  }
  family.arch_keys = {{"channel_multiplier", ArchKind::kNumber},
                      {"depth_multiplier", ArchKind::kNumber},
                      {"drop_rate", ArchKind::kNumber},
                      {"drop_path_rate", ArchKind::kNumber}};
  return family;
}

}  // namespace foldtorch
