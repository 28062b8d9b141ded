// LayerNorm over the channels of an NCHW tensor (timm's LayerNorm2d), keys weight and bias.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace foldtorch::layers {

class LayerNorm2dImpl : public torch::nn::Module {
 public:
  explicit LayerNorm2dImpl(int64_t channels, double eps = 1e-6);
  // Normalises each pixel's channel vector; works on contiguous and channels-last input alike.
  torch::Tensor forward(const torch::Tensor& x);
  void reset_parameters();

 private:
  int64_t channels_;
  double eps_;
  torch::Tensor weight_, bias_;
};
TORCH_MODULE(LayerNorm2d);

}  // namespace foldtorch::layers
