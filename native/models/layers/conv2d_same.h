// TensorFlow "SAME" padding convolution (timm's Conv2dSame / create_conv2d(pad_type='same')): the padding is
// computed from the input size at run time and put at the bottom/right when odd, as TF does.
#pragma once

#include <torch/nn/module.h>

#include <array>

namespace foldtorch::layers {

// [before, after] zero padding of one spatial dim: out = ceil(in / stride), pad = max((out-1)*stride + (k-1)*dilation
// + 1 - in, 0), before = pad / 2.
std::array<int64_t, 2> same_padding(int64_t in, int64_t kernel, int64_t stride, int64_t dilation = 1);

// A bias-free convolution under timm's parameter name "weight" (EfficientNet's convs have no bias).
class Conv2dSameImpl : public torch::nn::Module {
 public:
  Conv2dSameImpl(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride = 1, int64_t groups = 1);
  torch::Tensor forward(const torch::Tensor& x) { return forward_with(x, weight, {}); }
  // The same convolution with another weight and a bias (a BatchNorm folded in).
  torch::Tensor forward_with(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias);

  torch::Tensor weight;
  int64_t kernel() const { return kernel_; }
  int64_t stride() const { return stride_; }
  int64_t groups() const { return groups_; }

 private:
  int64_t kernel_, stride_, groups_;
};
TORCH_MODULE(Conv2dSame);

}  // namespace foldtorch::layers
