// BatchNorm2d followed by an optional ReLU6 (timm's BatchNormAct2d as EfficientNet-Lite uses it), under PyTorch's
// state-dict names (weight, bias, running_mean, running_var, num_batches_tracked) and semantics: batch statistics and
// a momentum update of the running ones in training (unbiased variance), the running ones in evaluation.
#pragma once

#include <torch/nn/module.h>

#include <utility>

namespace foldtorch::layers {

struct BatchNormActOptions {
  double eps = 1e-5;
  double momentum = 0.1;
  bool relu6 = true;  // false: BatchNorm alone
};

class BatchNormAct2dImpl : public torch::nn::Module {
 public:
  BatchNormAct2dImpl(int64_t channels, BatchNormActOptions options);
  torch::Tensor forward(const torch::Tensor& x);
  // Frozen: the running statistics normalise in training too and are never updated (fine-tuning with tiny batches).
  void set_frozen(bool frozen) { frozen_ = frozen; }
  bool frozen() const { return frozen_; }
  void reset_parameters();

  // True when this forward normalises with the running statistics (evaluation, or frozen): then the layer is a
  // per-channel affine map y = x·scale + shift, which a preceding bias-free convolution can absorb.
  bool uses_running_statistics() const { return !is_training() || frozen_; }
  // {scale, shift} of that map: weight / sqrt(running_var + eps) and bias − running_mean · scale.
  std::pair<torch::Tensor, torch::Tensor> running_affine() const;
  // The activation alone (ReLU6 in place, or nothing).
  torch::Tensor activate(torch::Tensor y) const;

  torch::Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  BatchNormActOptions options_;
  bool frozen_ = false;
};
TORCH_MODULE(BatchNormAct2d);

}  // namespace foldtorch::layers
