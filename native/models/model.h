// The interface every classifier family implements (EVA-02, ConvNeXt), as timm's models expose it.
#pragma once

#include <torch/nn/module.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace foldtorch {

// Preprocessing defaults of a named config (timm's pretrained_cfg).
struct PretrainedConfig {
  std::vector<double> mean;
  std::vector<double> std;
  std::string interpolation;  // "bicubic" | "bilinear"
  int64_t img_size = 224;
  double crop_pct = 1.0;
  std::string crop_mode = "center";  // "center" | "squash"
  int64_t num_classes = 1000;        // of the pretrained head (0: none)
  std::string tag;                   // e.g. "eva02_base_patch14_448.mim_in22k_ft_in22k_in1k"
};

// An input size in pixels, [height, width] as timm's img_size tuple.
struct ImageSize {
  int64_t height = 224;
  int64_t width = 224;
  bool operator==(const ImageSize&) const = default;
};

// What a model accepts, stated by the model so callers ask instead of knowing its family: a fixed-size model
// (a ViT's patch grid) takes exactly `size`; otherwise any H, W >= min_size that are multiples of size_multiple.
struct InputRules {
  ImageSize size;              // the size the model was built for (and the default input size)
  bool fixed_size = false;     // true: only `size` goes through
  int64_t min_size = 1;        // smallest H and W (when not fixed)
  int64_t size_multiple = 1;   // H and W must be multiples of this (a patch size)
  bool channels_last = false;  // convolutions here run faster on NHWC activations
};

// What a model of a given config holds, and what one training step keeps for backward, counted from the config
// alone (before anything is allocated): elements, not bytes, so the caller applies its precision.
struct MemoryEstimate {
  double parameters = 0;   // exactly the model's parameter elements
  double buffers = 0;      // buffer elements (BatchNorm statistics)
  double activations = 0;  // elements a training step of `batch` images keeps alive for backward (an estimate)
};

// Named intermediate outputs in execution order (e.g. "patch_embed", "block_0", "features", "logits").
using NamedOutputs = std::vector<std::pair<std::string, torch::Tensor>>;

class ClassifierImpl : public torch::nn::Module {
 public:
  // [B, 3, H, W] → family-specific features (tokens or a feature map).
  virtual torch::Tensor forward_features(const torch::Tensor& images) = 0;
  // features → logits, or the pooled, normed embedding when pre_logits.
  virtual torch::Tensor forward_head(const torch::Tensor& features, bool pre_logits = false) = 0;
  torch::Tensor forward(const torch::Tensor& images) { return forward_head(forward_features(images)); }

  // A fresh classifier for num_classes (0: none), as timm's reset_classifier makes it: nn.Linear with PyTorch's default
  // init.
  virtual void reset_classifier(int64_t num_classes) = 0;
  virtual void set_grad_checkpointing(bool enable) = 0;
  virtual int64_t num_classes() const = 0;
  // The input size the model is built for, [height, width].
  virtual ImageSize img_size() const = 0;
  // What inputs the model takes (its size rules and channels-last preference); check_input enforces it.
  virtual InputRules input_rules() const = 0;
  virtual const PretrainedConfig& pretrained_config() const = 0;
  virtual std::string family() const = 0;

  // --- additions, each with a default so other implementations keep compiling ---

  // Throws c10::ValueError naming the expected shape when `images` cannot go through the model.
  void check_input(const torch::Tensor& images) const;
  // The same forward, returning every intermediate the parity fixtures record, then "features",
  // "pre_logits" and "logits".
  virtual NamedOutputs forward_intermediates(const torch::Tensor& images) {
    auto features = forward_features(images);
    auto pre_logits = forward_head(features, /*pre_logits=*/true);
    return {{"features", features}, {"pre_logits", pre_logits}, {"logits", forward_head(features)}};
  }
  // Width of pre_logits (0 when unknown).
  virtual int64_t num_features() const { return 0; }
  // Whether convolutions here run faster with NHWC (channels-last) input, and switching to it (4-D weights and
  // activations); a no-op for families without convolutions to speak of.
  bool prefers_channels_last() const { return input_rules().channels_last; }
  virtual void set_channels_last(bool enable) { (void)enable; }
  // Attention through SDPA (true) or the explicit softmax((q·scale) @ kᵀ) @ v path timm uses without SDPA (kept
  // for checking); a no-op for families without attention.
  virtual void set_fused_attention(bool fused) { (void)fused; }
  // BatchNorm layers keep their running statistics (normalise with them, never update them) in training too:
  // fine-tuning with small batches. A no-op for families without BatchNorm.
  virtual void set_batch_norm_frozen(bool frozen) { (void)frozen; }
  // Names of the parameter groups a fine-tuner freezes or gives its own learning rate, from the input side
  // (e.g. "stem", "stages.0", …, "head"), each an ECMAScript regex over parameter names.
  virtual std::vector<std::pair<std::string, std::string>> parameter_stages() const { return {}; }
  // The classifier's parameter names: a checkpoint head of another class count is skipped (the model keeps its
  // freshly initialised head), as timm does when fine-tuning.
  virtual std::vector<std::string> head_parameter_names() const { return {"head.weight", "head.bias"}; }
  // The activation map Grad-CAM weighs, [B, C, h, w], from forward_features' output: the last convolutional
  // stage as it is (the default); a ViT reshapes its patch tokens to the patch grid.
  virtual torch::Tensor activation_map(const torch::Tensor& features) const;
  // Adapts a checkpoint's tensors to this model's names and shapes before the strict load, as timm's
  // checkpoint_filter_fn does (renames, pos-embed resampling); appends the keys it resampled.
  virtual void filter_checkpoint(std::map<std::string, torch::Tensor>& tensors,
                                 std::vector<std::string>& resampled) const {
    (void)tensors;
    (void)resampled;
  }
};

// Puts the model in train or eval mode for a scope and restores the mode it had, however the scope ends.
class TrainingModeGuard {
 public:
  TrainingModeGuard(ClassifierImpl& model, bool training) : model_(model), was_training_(model.is_training()) {
    model_.train(training);
  }
  ~TrainingModeGuard() { model_.train(was_training_); }
  TrainingModeGuard(const TrainingModeGuard&) = delete;
  TrainingModeGuard& operator=(const TrainingModeGuard&) = delete;

 private:
  ClassifierImpl& model_;
  bool was_training_;
};

using Classifier = std::shared_ptr<ClassifierImpl>;

}  // namespace foldtorch
