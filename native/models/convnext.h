// ConvNeXt (timm's convnext_atto … convnext_xlarge): patchify stem, four stages of depthwise-7×7 blocks with
// layer scale, LayerNorm2d + stride-2 conv downsampling, and the pool → norm → fc head; timm's state-dict keys.
#pragma once

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "models/layers/layer_norm_2d.h"
#include "models/model.h"

namespace foldtorch {

struct ConvNextConfig {
  std::vector<int64_t> depths = {3, 3, 9, 3};
  std::vector<int64_t> dims = {96, 192, 384, 768};
  bool conv_mlp = false;  // 1×1 convs + LayerNorm2d in the blocks (atto…nano), else permute + Linear
  int64_t in_chans = 3;
  int64_t num_classes = 1000;
  ImageSize img_size{224, 224};  // nominal: any input of at least 32 px works
  int64_t patch_size = 4;
  int64_t kernel_size = 7;
  double ls_init_value = 1e-6;
  double head_init_scale = 1.0;
  double norm_eps = 1e-6;
};

class ConvNextBlockImpl : public torch::nn::Module {
 public:
  ConvNextBlockImpl(int64_t channels, const ConvNextConfig& config);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  bool conv_mlp_;
  torch::Tensor gamma_;
  torch::nn::Conv2d conv_dw_{nullptr};
  layers::LayerNorm2d norm_2d_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
  std::shared_ptr<torch::nn::Module> mlp_;
  torch::nn::Conv2d fc1_conv_{nullptr}, fc2_conv_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(ConvNextBlock);

class ConvNextImpl : public ClassifierImpl {
 public:
  ConvNextImpl(const ConvNextConfig& config, PretrainedConfig pretrained);

  torch::Tensor forward_features(const torch::Tensor& images) override;
  torch::Tensor forward_head(const torch::Tensor& features, bool pre_logits = false) override;
  NamedOutputs forward_intermediates(const torch::Tensor& images) override;

  void reset_classifier(int64_t num_classes) override;
  void set_grad_checkpointing(bool enable) override { grad_checkpointing_ = enable; }
  int64_t num_classes() const override { return config_.num_classes; }
  ImageSize img_size() const override { return config_.img_size; }
  InputRules input_rules() const override {
    return {config_.img_size, /*fixed_size=*/false, kMinSize, 1, /*channels_last=*/true};
  }
  const PretrainedConfig& pretrained_config() const override { return pretrained_; }
  std::string family() const override { return "convnext"; }
  int64_t num_features() const override { return config_.dims.back(); }
  std::vector<std::string> head_parameter_names() const override { return {"head.fc.weight", "head.fc.bias"}; }
  std::vector<std::pair<std::string, std::string>> parameter_stages() const override;
  void filter_checkpoint(std::map<std::string, torch::Tensor>& tensors,
                         std::vector<std::string>& resampled) const override;

  const ConvNextConfig& config() const { return config_; }
  // Stores 4-D weights channels-last (NHWC) and runs the network on channels-last activations.
  void set_channels_last(bool enable) override;
  bool channels_last() const { return channels_last_; }
  void init_weights();

 private:
  static constexpr int64_t kMinSize = 32;  // the stem and three downsamplings need 32 px
  torch::Tensor run_stage(size_t index, torch::Tensor x);

  ConvNextConfig config_;
  PretrainedConfig pretrained_;
  bool grad_checkpointing_ = false;
  bool channels_last_ = false;
  torch::nn::Sequential stem_{nullptr};
  torch::nn::ModuleList stages_{nullptr};
  std::vector<torch::nn::Sequential> downsample_;  // empty holder for stage 0
  std::vector<torch::nn::ModuleList> blocks_;
  layers::LayerNorm2d head_norm_{nullptr};
  torch::nn::Linear head_fc_{nullptr};
  std::shared_ptr<torch::nn::Module> head_;
};
TORCH_MODULE(ConvNext);

// Parameters (exact), buffers and a training step's activations of a config, before building it.
MemoryEstimate estimate_memory(const ConvNextConfig& config, int64_t batch, bool grad_checkpointing);

// The convnext_* entrypoints and their pretrained tags, for the registry.
struct ModelFamily;
ModelFamily convnext_family();

}  // namespace foldtorch
