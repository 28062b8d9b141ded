// EfficientNet-Lite (timm's tf_efficientnet_lite0 … lite4): TF-SAME stem, a depthwise-separable block, inverted
// residual stages with ReLU6 and no squeeze-excite, a 1×1 head conv to 1280, average pooling and the classifier;
// BatchNorm with eps 1e-3 and running statistics as buffers; timm's state-dict keys.
#pragma once

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>

#include "models/layers/batch_norm_act.h"
#include "models/layers/conv2d_same.h"
#include "models/model.h"

namespace foldtorch {

// One stage of the architecture string, e.g. ir_r2_k3_s2_e6_c24.
struct EfficientNetStage {
  bool depthwise_separable;  // ds (the first stage) or ir
  int64_t repeats, kernel, stride, expansion, channels;
};

struct EfficientNetConfig {
  std::vector<EfficientNetStage> stages;  // before channel/depth scaling
  double channel_multiplier = 1.0;
  double depth_multiplier = 1.0;
  int64_t stem_channels = 32;   // not scaled (fix_stem)
  int64_t num_features = 1280;  // not scaled
  int64_t num_classes = 1000;
  ImageSize img_size{224, 224};  // nominal: SAME padding takes any size
  double bn_eps = 1e-3;          // BN_EPS_TF_DEFAULT
  double bn_momentum = 0.1;      // PyTorch's default (the tf_ entrypoints do not pass TF's 0.01)
  double drop_rate = 0.0;        // dropout on pre_logits in training
  double drop_path_rate = 0.0;   // stochastic depth, growing linearly with the block index
};

// The block interface of both kinds, so a stage iterates them alike.
class EfficientBlockImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};

// conv_dw k×k → bn1 (ReLU6) → conv_pw 1×1 → bn2, + x when the shape is kept.
class DepthwiseSeparableImpl : public EfficientBlockImpl {
 public:
  DepthwiseSeparableImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, double drop_path,
                         const EfficientNetConfig& c);
  torch::Tensor forward(const torch::Tensor& x) override;

 private:
  bool has_skip_;
  double drop_path_;
  layers::Conv2dSame conv_dw_{nullptr}, conv_pw_{nullptr};
  layers::BatchNormAct2d bn1_{nullptr}, bn2_{nullptr};
};

// conv_pw 1×1 expand → bn1 (ReLU6) → conv_dw k×k → bn2 (ReLU6) → conv_pwl 1×1 project → bn3, + x when kept.
class InvertedResidualImpl : public EfficientBlockImpl {
 public:
  InvertedResidualImpl(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t expansion, double drop_path,
                       const EfficientNetConfig& c);
  torch::Tensor forward(const torch::Tensor& x) override;

 private:
  bool has_skip_;
  double drop_path_;
  layers::Conv2dSame conv_pw_{nullptr}, conv_dw_{nullptr}, conv_pwl_{nullptr};
  layers::BatchNormAct2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
};

class EfficientNetImpl : public ClassifierImpl {
 public:
  EfficientNetImpl(const EfficientNetConfig& config, PretrainedConfig pretrained);

  torch::Tensor forward_features(const torch::Tensor& images) override;
  torch::Tensor forward_head(const torch::Tensor& features, bool pre_logits = false) override;
  NamedOutputs forward_intermediates(const torch::Tensor& images) override;

  void reset_classifier(int64_t num_classes) override;
  void set_grad_checkpointing(bool enable) override;
  int64_t num_classes() const override { return config_.num_classes; }
  ImageSize img_size() const override { return config_.img_size; }
  InputRules input_rules() const override {
    return {config_.img_size, /*fixed_size=*/false, 1, 1, /*channels_last=*/true};
  }
  const PretrainedConfig& pretrained_config() const override { return pretrained_; }
  std::string family() const override { return "efficientnet"; }
  int64_t num_features() const override { return config_.num_features; }
  std::vector<std::string> head_parameter_names() const override { return {"classifier.weight", "classifier.bias"}; }
  void set_channels_last(bool enable) override;
  void set_batch_norm_frozen(bool frozen) override;
  std::vector<std::pair<std::string, std::string>> parameter_stages() const override;

  const EfficientNetConfig& config() const { return config_; }
  // Stage depths and output channels after scaling (round_channels, ceil of the depth multiplier).
  std::vector<int64_t> stage_depths() const;
  // timm's _init_weight_goog: convs N(0, sqrt(2 / fan_out)), BN 1/0, the classifier U(±1/sqrt(classes)).
  void init_weights();

 private:
  // The input checked against input_rules(), in the weights' memory layout.
  torch::Tensor checked_input(const torch::Tensor& images) const;

  EfficientNetConfig config_;
  PretrainedConfig pretrained_;
  bool channels_last_ = false;
  layers::Conv2dSame conv_stem_{nullptr}, conv_head_{nullptr};
  layers::BatchNormAct2d bn1_{nullptr}, bn2_{nullptr};
  torch::nn::ModuleList blocks_{nullptr};
  std::vector<std::vector<std::shared_ptr<EfficientBlockImpl>>> stages_;
  torch::nn::Linear classifier_{nullptr};
};
TORCH_MODULE(EfficientNet);

// Stage depths after the depth multiplier (ceil; the first and last stage are never scaled).
std::vector<int64_t> scaled_stage_depths(const std::vector<EfficientNetStage>& stages, double depth_multiplier);

// timm's make_divisible / round_channels: to a multiple of `divisor`, never below 90% of the value.
int64_t round_channels(double channels, int64_t divisor = 8);

// Parameters (exact), buffers and a training step's activations of a config, before building it.
MemoryEstimate estimate_memory(const EfficientNetConfig& config, int64_t batch);

// The tf_efficientnet_lite* entrypoints and their pretrained tags, for the registry.
struct ModelFamily;
ModelFamily efficientnet_family();

}  // namespace foldtorch
