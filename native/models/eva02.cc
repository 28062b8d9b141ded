// EVA-02 forward passes, initialisation and checkpoint adaptation, following timm/models/eva.py.
#include "models/eva02.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "models/layers/classifier.h"
#include "models/layers/grad_checkpoint.h"
#include "models/layers/init.h"
#include "models/layers/linear.h"
#include "models/layers/pos_embed_resample.h"
#include "models/registry.h"

namespace foldtorch {

namespace {

torch::nn::LayerNorm MakeLayerNorm(int64_t dim, double eps) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(eps));
}

std::vector<torch::Tensor> ParametersOf(const torch::nn::Module& module) {
  std::vector<torch::Tensor> out;
  for (const auto& p : module.parameters()) out.push_back(p);
  return out;
}

}  // namespace

// ---- attention ----

EvaAttentionImpl::EvaAttentionImpl(int64_t dim, int64_t num_heads, bool qkv_fused, bool scale_norm, double norm_eps)
    : num_heads_(num_heads), head_dim_(dim / num_heads) {
  TORCH_CHECK(dim % num_heads == 0, "eva02: embed_dim ", dim, " is not divisible by num_heads ", num_heads);
  if (qkv_fused) {
    // Own parameters come before submodules in timm's state_dict order too.
    q_bias_ = register_parameter("q_bias", at::zeros({dim}));
    v_bias_ = register_parameter("v_bias", at::zeros({dim}));
    qkv_ = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(dim, 3 * dim).bias(false)));
  } else {
    q_proj_ = register_module("q_proj", torch::nn::Linear(dim, dim));
    k_proj_ = register_module("k_proj", torch::nn::Linear(torch::nn::LinearOptions(dim, dim).bias(false)));
    v_proj_ = register_module("v_proj", torch::nn::Linear(dim, dim));
  }
  if (scale_norm) norm_ = register_module("norm", MakeLayerNorm(dim, norm_eps));
  proj_ = register_module("proj", torch::nn::Linear(dim, dim));
}

torch::Tensor EvaAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& rope_sin,
                                        const torch::Tensor& rope_cos) {
  const int64_t batch = x.size(0), tokens = x.size(1), channels = x.size(2);
  torch::Tensor q, k, v;
  if (qkv_) {
    // The k bias is a fixed zero (a non-persistent buffer in timm).
    auto bias = at::cat({q_bias_, at::zeros_like(q_bias_), v_bias_});
    auto qkv =
        at::linear(x, qkv_->weight, bias).reshape({batch, tokens, 3, num_heads_, head_dim_}).permute({2, 0, 3, 1, 4});
    auto parts = qkv.unbind(0);
    q = parts[0];
    k = parts[1];
    v = parts[2];
  } else {
    q = layers::linear(q_proj_, x).reshape({batch, tokens, num_heads_, head_dim_}).transpose(1, 2);
    k = layers::linear(k_proj_, x).reshape({batch, tokens, num_heads_, head_dim_}).transpose(1, 2);
    v = layers::linear(v_proj_, x).reshape({batch, tokens, num_heads_, head_dim_}).transpose(1, 2);
  }
  if (rope_sin.defined()) {
    q = layers::apply_rope_cat(q, rope_sin, rope_cos);
    k = layers::apply_rope_cat(k, rope_sin, rope_cos);
  }
  torch::Tensor out;
  if (fused_attention_) {
    out = at::scaled_dot_product_attention(q, k, v);
  } else {
    auto attn = at::matmul(q * std::pow(static_cast<double>(head_dim_), -0.5), k.transpose(-2, -1));
    out = at::matmul(attn.softmax(-1), v);
  }
  out = out.transpose(1, 2).reshape({batch, tokens, channels});
  if (norm_) out = norm_->forward(out);
  return layers::linear(proj_, out);
}

// ---- block ----

EvaBlockImpl::EvaBlockImpl(const Eva02Config& c) {
  norm1_ = register_module("norm1", MakeLayerNorm(c.embed_dim, c.norm_eps));
  attn_ = register_module("attn", EvaAttention(c.embed_dim, c.num_heads, c.qkv_fused, c.scale_attn_inner, c.norm_eps));
  norm2_ = register_module("norm2", MakeLayerNorm(c.embed_dim, c.norm_eps));
  TORCH_CHECK(c.swiglu_mlp, "eva02: only the SwiGLU MLP of the eva02 configs is implemented");
  const auto hidden = static_cast<int64_t>(static_cast<double>(c.embed_dim) * c.mlp_ratio);
  if (c.scale_mlp) {
    swiglu_ = register_module("mlp", layers::SwiGLU(c.embed_dim, hidden, /*inner_norm=*/true, c.norm_eps));
  } else {
    glu_ = register_module("mlp", layers::GluMlp(c.embed_dim, hidden));
  }
}

torch::Tensor EvaBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& rope_sin,
                                    const torch::Tensor& rope_cos) {
  auto y = x + attn_->forward(norm1_->forward(x), rope_sin, rope_cos);
  auto normed = norm2_->forward(y);
  return y + (swiglu_ ? swiglu_->forward(normed) : glu_->forward(normed));
}

// ---- model ----

Eva02Impl::Eva02Impl(const Eva02Config& config, PretrainedConfig pretrained)
    : config_(config), pretrained_(std::move(pretrained)) {
  const auto& c = config_;
  TORCH_CHECK_VALUE(c.img_size.height % c.patch_size == 0 && c.img_size.width % c.patch_size == 0,
                    "eva02: img_size must be a multiple of the patch size ", c.patch_size, " (got [", c.img_size.height,
                    ", ", c.img_size.width, "])");
  TORCH_CHECK(c.global_pool == "avg" || c.global_pool == "token", "eva02: global_pool must be avg or token (got ",
              c.global_pool, ")");
  cls_token_ = register_parameter("cls_token", at::zeros({1, 1, c.embed_dim}));
  pos_embed_ = register_parameter("pos_embed", at::zeros({1, grid_height() * grid_width() + 1, c.embed_dim}));
  auto patch_embed = std::make_shared<torch::nn::Module>();
  patch_proj_ = patch_embed->register_module(
      "proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.in_chans, c.embed_dim, c.patch_size).stride(c.patch_size)));
  register_module("patch_embed", patch_embed);
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.depth; ++i) blocks_->push_back(EvaBlock(c));
  if (c.global_pool == "avg") {
    fc_norm_ = register_module("fc_norm", MakeLayerNorm(c.embed_dim, c.norm_eps));
  } else {
    norm_ = register_module("norm", MakeLayerNorm(c.embed_dim, c.norm_eps));
  }
  if (c.num_classes > 0) head_ = register_module("head", torch::nn::Linear(c.embed_dim, c.num_classes));
  if (c.use_rot_pos_emb)
    rope_ = layers::build_rope_cat(grid_height(), grid_width(), c.embed_dim / c.num_heads, c.ref_feat_shape);
  init_weights();
}

void Eva02Impl::init_weights() {
  at::NoGradGuard no_grad;
  for (auto& module : modules(/*include_self=*/false)) {
    if (auto* linear = module->as<torch::nn::Linear>()) {
      layers::trunc_normal_(linear->weight, 0.02);
      if (linear->bias.defined()) linear->bias.zero_();
    } else if (auto* norm = module->as<torch::nn::LayerNorm>()) {
      norm->reset_parameters();
    } else if (auto* conv = module->as<torch::nn::Conv2d>()) {
      conv->reset_parameters();
    }
  }
  for (const auto& p : named_parameters()) {
    if (p.key().size() > 7 && (p.key().compare(p.key().size() - 7, 7, ".q_bias") == 0 ||
                               p.key().compare(p.key().size() - 7, 7, ".v_bias") == 0)) {
      p.value().zero_();
    }
  }
  layers::trunc_normal_(pos_embed_, 0.02);
  layers::trunc_normal_(cls_token_, 0.02);
  // timm's fix_init_weight: deeper residual branches start smaller.
  for (size_t i = 0; i < blocks_->size(); ++i) {
    auto block = blocks_->ptr<EvaBlockImpl>(i);
    const double scale = std::sqrt(2.0 * static_cast<double>(i + 1));
    block->named_parameters()["attn.proj.weight"].div_(scale);
    block->named_parameters()["mlp.fc2.weight"].div_(scale);
  }
  if (head_) {
    head_->weight.mul_(0.001);  // head_init_scale
    head_->bias.mul_(0.001);
  }
}

std::vector<std::pair<std::string, std::string>> Eva02Impl::parameter_stages() const {
  std::vector<std::pair<std::string, std::string>> out{{"embed", R"(^(cls_token|pos_embed|patch_embed\.))"}};
  for (size_t i = 0; i < blocks_->size(); ++i)
    out.emplace_back("blocks." + std::to_string(i), R"(^blocks\.)" + std::to_string(i) + R"(\.)");
  out.emplace_back("head", R"(^(norm|fc_norm)\.)");
  out.emplace_back("classifier", R"(^head\.)");
  return out;
}

void Eva02Impl::refresh_rope_cache(const torch::Device& device) {
  if (!config_.use_rot_pos_emb) return;
  if (rope_device_.sin.defined() && rope_device_.sin.device() == device) return;
  // A cache first filled under inference mode must still be usable by later autograd passes.
  c10::InferenceMode normal_tensors(false);
  auto table = layers::with_prefix_rows(rope_, 1);
  rope_device_ = {table.sin.to(device), table.cos.to(device)};
}

torch::Tensor Eva02Impl::rope_embed() const {
  return config_.use_rot_pos_emb ? layers::rope_embed_cat(rope_) : torch::Tensor();
}

void Eva02Impl::set_fused_attention(bool fused) {
  for (size_t i = 0; i < blocks_->size(); ++i) blocks_->ptr<EvaBlockImpl>(i)->attn()->set_fused_attention(fused);
}

torch::Tensor Eva02Impl::embed_tokens(const torch::Tensor& images, NamedOutputs* record) {
  check_input(images);
  auto x = patch_proj_->forward(images).flatten(2).transpose(1, 2);  // [B, N, D], row-major (h, w)
  if (record) record->emplace_back("patch_embed", x);
  // Under autocast, cat promotes to float32 as in timm, so tokens stay float32 between blocks.
  x = at::cat({cls_token_.expand({x.size(0), -1, -1}), x}, 1) + pos_embed_;
  if (record) record->emplace_back("tokens_after_pos_embed", x);
  refresh_rope_cache(x.device());
  return x;
}

torch::Tensor Eva02Impl::run_block(size_t index, const torch::Tensor& x) {
  auto block = blocks_->ptr<EvaBlockImpl>(index);
  const auto sin = rope_device_.sin, cos = rope_device_.cos;
  if (grad_checkpointing_ && at::GradMode::is_enabled()) {
    return layers::checkpoint([block, sin, cos](const at::Tensor& input) { return block->forward(input, sin, cos); }, x,
                              ParametersOf(*block));
  }
  return block->forward(x, sin, cos);
}

torch::Tensor Eva02Impl::forward_features(const torch::Tensor& images) {
  auto x = embed_tokens(images, nullptr);
  for (size_t i = 0; i < blocks_->size(); ++i) x = run_block(i, x);
  return norm_ ? norm_->forward(x) : x;
}

torch::Tensor Eva02Impl::forward_head(const torch::Tensor& features, bool pre_logits) {
  torch::Tensor pooled;
  if (config_.global_pool == "avg") {
    pooled = fc_norm_->forward(features.slice(1, 1).mean(1));  // patch tokens only, not the class token
  } else {
    pooled = features.select(1, 0);
  }
  if (pre_logits || !head_) return pooled;
  return layers::linear(head_, pooled);
}

// The patch tokens (class token dropped) as a [B, C, grid_h, grid_w] map, the grid the patches were cut from.
torch::Tensor Eva02Impl::activation_map(const torch::Tensor& features) const {
  TORCH_CHECK_VALUE(features.dim() == 3 && features.size(1) == grid_height() * grid_width() + 1, "eva02: expected [B, ",
                    grid_height() * grid_width() + 1, ", C] tokens for Grad-CAM (got ", features.sizes(), ")");
  return features.slice(1, 1).transpose(1, 2).reshape(
      {features.size(0), features.size(2), grid_height(), grid_width()});
}

NamedOutputs Eva02Impl::forward_intermediates(const torch::Tensor& images) {
  NamedOutputs out;
  if (config_.use_rot_pos_emb) out.emplace_back("rope_embed", rope_embed());
  auto x = embed_tokens(images, &out);
  for (size_t i = 0; i < blocks_->size(); ++i) {
    x = run_block(i, x);
    out.emplace_back("block_" + std::to_string(i), x);
  }
  if (norm_) x = norm_->forward(x);
  out.emplace_back("features", x);
  out.emplace_back("pre_logits", forward_head(x, true));
  out.emplace_back("logits", forward_head(x, false));
  return out;
}

void Eva02Impl::reset_classifier(int64_t num_classes) {
  config_.num_classes = num_classes;
  head_ = layers::reset_linear(*this, "head", head_, config_.embed_dim, num_classes);
}

void Eva02Impl::filter_checkpoint(std::map<std::string, torch::Tensor>& tensors,
                                  std::vector<std::string>& resampled) const {
  // OpenCLIP exports nest the tower under a prefix.
  for (const std::string prefix : {"visual.trunk.", "visual."}) {
    if (tensors.count(prefix + "pos_embed")) {
      std::map<std::string, torch::Tensor> stripped;
      for (auto& [key, value] : tensors) {
        if (key.rfind(prefix, 0) == 0) stripped[key.substr(prefix.size())] = value;
      }
      tensors.swap(stripped);
      break;
    }
  }
  const bool mim_weights = tensors.count("mask_token") != 0;
  const bool separate_qkv = tensors.count("blocks.0.attn.q_proj.weight") != 0;
  std::map<std::string, torch::Tensor> out;
  for (auto& [raw_key, value] : tensors) {
    std::string key = raw_key;
    if (key.find("rope") != std::string::npos) continue;  // rebuilt for this grid, never loaded
    if (mim_weights) {
      if (key == "mask_token" || key.rfind("lm_head.", 0) == 0) continue;
      if (key == "norm.weight" || key == "norm.bias") key = "fc_" + key;  // pretrain norm → fine-tune fc_norm
    }
    auto replace = [&key](const std::string& from, const std::string& to) {
      const auto at = key.find(from);
      if (at != std::string::npos) key.replace(at, from.size(), to);
    };
    // Names of the original BAAI checkpoints.
    replace("mlp.ffn_ln", "mlp.norm");
    replace("attn.inner_attn_ln", "attn.norm");
    replace("mlp.w12", "mlp.fc1");
    replace("mlp.w1", "mlp.fc1_g");
    replace("mlp.w2", "mlp.fc1_x");
    replace("mlp.w3", "mlp.fc2");
    if (separate_qkv) {
      replace("q_bias", "q_proj.bias");
      replace("v_bias", "v_proj.bias");
    }
    // Only a grid change is resampled; another width is a mismatch the strict load reports.
    if (key == "pos_embed" && value.dim() == 3 && value.size(1) != pos_embed_.size(1) &&
        value.size(2) == pos_embed_.size(2)) {
      value = layers::resample_abs_pos_embed(value, grid_height(), grid_width(), 1);
      resampled.push_back(key);
    }
    out[key] = value;
  }
  tensors.swap(out);
}

// ---- memory, from the config alone ----

MemoryEstimate estimate_memory(const Eva02Config& c, int64_t batch, bool grad_checkpointing) {
  const double dim = static_cast<double>(c.embed_dim), patch = static_cast<double>(c.patch_size);
  const double classes = static_cast<double>(c.num_classes);
  const double hidden = static_cast<double>(static_cast<int64_t>(dim * c.mlp_ratio));  // as EvaBlockImpl rounds it
  const double patches =
      static_cast<double>(c.img_size.height / c.patch_size) * static_cast<double>(c.img_size.width / c.patch_size);
  // norm1, norm2, qkv (or q/k/v projections: the same count), proj, the optional inner norms, the gated MLP.
  double block = 4 * dim + (3 * dim * dim + 2 * dim) + (dim * dim + dim) + (c.scale_attn_inner ? 2 * dim : 0);
  block += c.scale_mlp ? 2 * (dim * hidden + hidden) + 2 * hidden + (hidden * dim + dim)
                       : (dim * 2 * hidden + 2 * hidden) + (hidden * dim + dim);
  MemoryEstimate m;
  m.parameters = dim + (patches + 1) * dim + static_cast<double>(c.in_chans) * dim * patch * patch + dim +
                 static_cast<double>(c.depth) * block + 2 * dim + (c.num_classes > 0 ? dim * classes + classes : 0);
  // Per token and block, what autograd keeps: the residual inputs, both norms' outputs, qkv, q/k after RoPE, the
  // attention output and the gated MLP's three hidden tensors (SDPA keeps no N×N matrix).
  const double tokens = static_cast<double>(batch) * (patches + 1);
  const double per_block = tokens * (12 * dim + 4 * hidden);
  const double blocks = grad_checkpointing ? static_cast<double>(c.depth) * tokens * dim + per_block
                                           : static_cast<double>(c.depth) * per_block;
  m.activations = static_cast<double>(batch) * static_cast<double>(c.in_chans * c.img_size.height * c.img_size.width) +
                  3 * tokens * dim + blocks + static_cast<double>(batch) * (2 * dim + 2 * classes);
  return m;
}

// ---- named variants (timm v1.0.28's entrypoints and pretrained cfgs) ----

namespace {

struct EvaArgs {
  const char* name;
  int64_t img_size, patch_size, embed_dim, depth, num_heads;
  bool qkv_fused, scale_mlp, scale_attn_inner;
  const char* global_pool;
};

// Every eva02 entrypoint except enormous (post-norm blocks); mlp_ratio 4*2/3, SwiGLU, RoPE ref grid 16×16.
constexpr EvaArgs kEvaArgs[] = {
    {"eva02_tiny_patch14_224", 224, 14, 192, 12, 3, true, false, false, "avg"},
    {"eva02_tiny_patch14_336", 336, 14, 192, 12, 3, true, false, false, "avg"},
    {"eva02_small_patch14_224", 224, 14, 384, 12, 6, true, false, false, "avg"},
    {"eva02_small_patch14_336", 336, 14, 384, 12, 6, true, false, false, "avg"},
    {"eva02_base_patch14_224", 224, 14, 768, 12, 12, false, true, false, "avg"},
    {"eva02_base_patch14_448", 448, 14, 768, 12, 12, false, true, false, "avg"},
    {"eva02_large_patch14_224", 224, 14, 1024, 24, 16, false, true, false, "avg"},
    {"eva02_large_patch14_448", 448, 14, 1024, 24, 16, false, true, false, "avg"},
    {"eva02_base_patch16_clip_224", 224, 16, 768, 12, 12, false, true, true, "token"},
    {"eva02_large_patch14_clip_224", 224, 14, 1024, 24, 16, false, true, true, "token"},
    {"eva02_large_patch14_clip_336", 336, 14, 1024, 24, 16, false, true, true, "token"},
};

struct EvaTag {
  const char* model;
  const char* tag;
  int64_t num_classes, input_size;
  double crop_pct;
  const char* crop_mode;
};

// In timm's order (the first of a model is its default); all bicubic with CLIP's mean/std.
constexpr EvaTag kEvaTags[] = {
    {"eva02_base_patch14_224", "mim_in22k", 0, 224, 0.9, "center"},
    {"eva02_base_patch14_448", "mim_in22k_ft_in22k_in1k", 1000, 448, 1.0, "squash"},
    {"eva02_base_patch14_448", "mim_in22k_ft_in1k", 1000, 448, 1.0, "center"},
    {"eva02_base_patch14_448", "mim_in22k_ft_in22k", 21841, 448, 1.0, "squash"},
    {"eva02_base_patch16_clip_224", "merged2b", 512, 224, 0.9, "center"},
    {"eva02_large_patch14_224", "mim_in22k", 0, 224, 0.9, "center"},
    {"eva02_large_patch14_224", "mim_m38m", 0, 224, 0.9, "center"},
    {"eva02_large_patch14_448", "mim_in22k_ft_in22k_in1k", 1000, 448, 1.0, "squash"},
    {"eva02_large_patch14_448", "mim_m38m_ft_in22k_in1k", 1000, 448, 1.0, "squash"},
    {"eva02_large_patch14_448", "mim_in22k_ft_in1k", 1000, 448, 1.0, "center"},
    {"eva02_large_patch14_448", "mim_m38m_ft_in1k", 1000, 448, 1.0, "center"},
    {"eva02_large_patch14_448", "mim_in22k_ft_in22k", 21841, 448, 1.0, "squash"},
    {"eva02_large_patch14_448", "mim_m38m_ft_in22k", 21841, 448, 1.0, "squash"},
    {"eva02_large_patch14_clip_224", "merged2b", 768, 224, 0.9, "center"},
    {"eva02_large_patch14_clip_336", "merged2b", 768, 336, 1.0, "center"},
    {"eva02_small_patch14_224", "mim_in22k", 0, 224, 0.9, "center"},
    {"eva02_small_patch14_336", "mim_in22k_ft_in1k", 1000, 336, 1.0, "center"},
    {"eva02_tiny_patch14_224", "mim_in22k", 0, 224, 0.9, "center"},
    {"eva02_tiny_patch14_336", "mim_in22k_ft_in1k", 1000, 336, 1.0, "center"},
};

std::string Bool(bool value) { return value ? "true" : "false"; }

// The keys timm's entrypoints pass, so they compare one to one with timm's registry.
std::string EvaArgsJson(const EvaArgs& a) {
  return "{\"img_size\":" + std::to_string(a.img_size) + ",\"patch_size\":" + std::to_string(a.patch_size) +
         ",\"embed_dim\":" + std::to_string(a.embed_dim) + ",\"depth\":" + std::to_string(a.depth) +
         ",\"num_heads\":" + std::to_string(a.num_heads) + ",\"qkv_fused\":" + Bool(a.qkv_fused) +
         ",\"mlp_ratio\":" + json_number(Eva02Config().mlp_ratio) +
         ",\"swiglu_mlp\":true,\"scale_mlp\":" + Bool(a.scale_mlp) +
         ",\"scale_attn_inner\":" + Bool(a.scale_attn_inner) +
         ",\"use_rot_pos_emb\":true,\"ref_feat_shape\":[16,16],\"global_pool\":\"" + a.global_pool + "\"}";
}

Eva02Config EvaConfigFor(const ModelEntry& entry, const PretrainedConfig& tag, const CreateOptions& options) {
  const EvaArgs* a =
      std::find_if(std::begin(kEvaArgs), std::end(kEvaArgs), [&](const EvaArgs& x) { return entry.name == x.name; });
  const auto& o = options.arch;
  Eva02Config c;
  c.img_size = options.img_size.value_or(ImageSize{a->img_size, a->img_size});
  c.patch_size = o.integer("patch_size").value_or(a->patch_size);
  c.embed_dim = o.integer("embed_dim").value_or(a->embed_dim);
  c.depth = o.integer("depth").value_or(a->depth);
  c.num_heads = o.integer("num_heads").value_or(a->num_heads);
  c.mlp_ratio = o.number("mlp_ratio").value_or(c.mlp_ratio);
  c.qkv_fused = o.flag("qkv_fused").value_or(a->qkv_fused);
  c.scale_mlp = o.flag("scale_mlp").value_or(a->scale_mlp);
  c.scale_attn_inner = o.flag("scale_attn_inner").value_or(a->scale_attn_inner);
  if (auto ref = o.integers("ref_feat_shape")) c.ref_feat_shape = std::make_pair((*ref)[0], (*ref)[1]);
  c.global_pool = a->global_pool;
  c.num_classes = options.num_classes.value_or(tag.num_classes);
  TORCH_CHECK_VALUE(c.patch_size > 0 && c.embed_dim > 0 && c.depth > 0 && c.num_heads > 0,
                    "eva02: patch_size, embed_dim, depth and num_heads must be positive");
  return c;
}

Classifier CreateEva(const ModelEntry& entry, const PretrainedConfig& tag, const CreateOptions& options) {
  // Checked here, not for the estimate: a model too big to build is refused for its size whatever its heads.
  const Eva02Config c = EvaConfigFor(entry, tag, options);
  TORCH_CHECK_VALUE(c.embed_dim % c.num_heads == 0 && (c.embed_dim / c.num_heads) % 4 == 0,
                    "eva02: embed_dim / num_heads must be a multiple of 4 (got ", c.embed_dim, " / ", c.num_heads, ")");
  return std::make_shared<Eva02Impl>(c, tag);
}

MemoryEstimate EstimateEva(const ModelEntry& entry, const PretrainedConfig& tag, const CreateOptions& options,
                           int64_t batch, bool grad_checkpointing) {
  return estimate_memory(EvaConfigFor(entry, tag, options), batch, grad_checkpointing);
}

}  // namespace

ModelFamily eva02_family() {
  ModelFamily family{"eva02", {}, {}, CreateEva, EstimateEva};
  for (const auto& args : kEvaArgs) family.entries.push_back({args.name, "eva02", {}, EvaArgsJson(args)});
  for (const auto& row : kEvaTags) {
    for (auto& entry : family.entries) {
      if (entry.name == row.model) {
        entry.tags.push_back(make_tag(row.model, row.tag, row.num_classes, row.input_size, row.crop_pct, row.crop_mode,
                                      kClipMean, kClipStd));
      }
    }
  }
  family.arch_keys = {{"patch_size", ArchKind::kInteger},
                      {"embed_dim", ArchKind::kInteger},
                      {"depth", ArchKind::kInteger},
                      {"num_heads", ArchKind::kInteger},
                      {"mlp_ratio", ArchKind::kNumber},
                      {"qkv_fused", ArchKind::kBool},
                      {"scale_mlp", ArchKind::kBool},
                      {"scale_attn_inner", ArchKind::kBool},
                      {"ref_feat_shape", ArchKind::kIntegers, 2}};
  return family;
}

}  // namespace foldtorch
