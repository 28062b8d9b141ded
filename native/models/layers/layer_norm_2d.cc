// LayerNorm2d as permute → layer_norm over C → permute back; on channels-last input the permutes are free.
#include "models/layers/layer_norm_2d.h"

#include <ATen/ATen.h>

namespace foldtorch::layers {

LayerNorm2dImpl::LayerNorm2dImpl(int64_t channels, double eps) : channels_(channels), eps_(eps) {
  weight_ = register_parameter("weight", at::ones({channels}));
  bias_ = register_parameter("bias", at::zeros({channels}));
}

void LayerNorm2dImpl::reset_parameters() {
  at::NoGradGuard no_grad;
  weight_.fill_(1.0);
  bias_.zero_();
}

torch::Tensor LayerNorm2dImpl::forward(const torch::Tensor& x) {
  auto nhwc = x.permute({0, 2, 3, 1});
  return at::layer_norm(nhwc, {channels_}, weight_, bias_, eps_).permute({0, 3, 1, 2});
}

}  // namespace foldtorch::layers
