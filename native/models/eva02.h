// EVA-02 (timm's Eva with the eva02_* configs): patch embedding, class token, absolute and rotary position
// embeddings, pre-norm blocks with SwiGLU/GluMlp, average pooling + fc_norm + head; state-dict keys are timm's.
#pragma once

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <optional>
#include <utility>

#include "models/layers/rope.h"
#include "models/layers/swiglu.h"
#include "models/model.h"

namespace foldtorch {

struct Eva02Config {
  ImageSize img_size{224, 224};  // [height, width]: a rectangular patch grid works too
  int64_t patch_size = 14;
  int64_t in_chans = 3;
  int64_t num_classes = 1000;
  int64_t embed_dim = 768;
  int64_t depth = 12;
  int64_t num_heads = 12;
  double mlp_ratio = 4.0 * 2.0 / 3.0;
  bool qkv_fused = true;  // false: q_proj / k_proj (no bias) / v_proj
  bool swiglu_mlp = true;
  bool scale_mlp = false;         // LayerNorm inside the SwiGLU (then separate fc1_g / fc1_x)
  bool scale_attn_inner = false;  // LayerNorm on the attention output before proj (CLIP variants)
  bool use_rot_pos_emb = true;
  std::optional<std::pair<int64_t, int64_t>> ref_feat_shape = std::make_pair<int64_t, int64_t>(16, 16);
  std::string global_pool = "avg";  // "avg" (patch tokens, then fc_norm) | "token" (class token after norm)
  double norm_eps = 1e-6;
};

// Multi-head self-attention with RoPE on q and k; fused qkv with q_bias/v_bias (zero k bias) or separate
// projections with no k bias.
class EvaAttentionImpl : public torch::nn::Module {
 public:
  EvaAttentionImpl(int64_t dim, int64_t num_heads, bool qkv_fused, bool scale_norm, double norm_eps);
  // rope: tables with identity rows for the prefix tokens (or undefined tensors for none).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& rope_sin, const torch::Tensor& rope_cos);
  // false: the explicit softmax((q*scale) @ kᵀ) @ v path timm uses without SDPA (kept for checking).
  void set_fused_attention(bool fused) { fused_attention_ = fused; }

 private:
  int64_t num_heads_, head_dim_;
  bool fused_attention_ = true;
  torch::Tensor q_bias_, v_bias_;
  torch::nn::Linear qkv_{nullptr}, q_proj_{nullptr}, k_proj_{nullptr}, v_proj_{nullptr}, proj_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};
TORCH_MODULE(EvaAttention);

class EvaBlockImpl : public torch::nn::Module {
 public:
  explicit EvaBlockImpl(const Eva02Config& config);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& rope_sin, const torch::Tensor& rope_cos);
  EvaAttention& attn() { return attn_; }

 private:
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  EvaAttention attn_{nullptr};
  layers::SwiGLU swiglu_{nullptr};
  layers::GluMlp glu_{nullptr};
};
TORCH_MODULE(EvaBlock);

class Eva02Impl : public ClassifierImpl {
 public:
  Eva02Impl(const Eva02Config& config, PretrainedConfig pretrained);

  torch::Tensor forward_features(const torch::Tensor& images) override;
  torch::Tensor forward_head(const torch::Tensor& features, bool pre_logits = false) override;
  torch::Tensor activation_map(const torch::Tensor& features) const override;
  NamedOutputs forward_intermediates(const torch::Tensor& images) override;

  void reset_classifier(int64_t num_classes) override;
  void set_grad_checkpointing(bool enable) override { grad_checkpointing_ = enable; }
  int64_t num_classes() const override { return config_.num_classes; }
  ImageSize img_size() const override { return config_.img_size; }
  InputRules input_rules() const override {
    return {config_.img_size, /*fixed_size=*/true, config_.patch_size, config_.patch_size, false};
  }
  const PretrainedConfig& pretrained_config() const override { return pretrained_; }
  std::string family() const override { return "eva02"; }
  int64_t num_features() const override { return config_.embed_dim; }
  std::vector<std::pair<std::string, std::string>> parameter_stages() const override;
  void filter_checkpoint(std::map<std::string, torch::Tensor>& tensors,
                         std::vector<std::string>& resampled) const override;

  const Eva02Config& config() const { return config_; }
  int64_t grid_height() const { return config_.img_size.height / config_.patch_size; }
  int64_t grid_width() const { return config_.img_size.width / config_.patch_size; }
  // cat(sin, cos) of the patch tokens: timm's rope.get_embed() (undefined without RoPE).
  torch::Tensor rope_embed() const;
  void set_fused_attention(bool fused) override;
  // Re-draws every parameter as timm's Eva.init_weights does.
  void init_weights();

 private:
  torch::Tensor embed_tokens(const torch::Tensor& images, NamedOutputs* record);
  torch::Tensor run_block(size_t index, const torch::Tensor& x);
  void refresh_rope_cache(const torch::Device& device);

  Eva02Config config_;
  PretrainedConfig pretrained_;
  bool grad_checkpointing_ = false;
  torch::Tensor cls_token_, pos_embed_;
  torch::nn::Conv2d patch_proj_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};
  torch::nn::LayerNorm norm_{nullptr}, fc_norm_{nullptr};
  torch::nn::Linear head_{nullptr};
  layers::RopeTable rope_;         // patch tokens only, float32 on CPU
  layers::RopeTable rope_device_;  // with the class-token row, on the device last used
};
TORCH_MODULE(Eva02);

// Parameters (exact), buffers and a training step's activations of a config, before building it.
MemoryEstimate estimate_memory(const Eva02Config& config, int64_t batch, bool grad_checkpointing);

// The eva02_* entrypoints and their pretrained tags, for the registry.
struct ModelFamily;
ModelFamily eva02_family();

}  // namespace foldtorch
