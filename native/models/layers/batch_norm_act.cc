// BatchNormAct2d: at::batch_norm updates the running statistics in place when it uses batch statistics.
#include "models/layers/batch_norm_act.h"

#include <ATen/ATen.h>

#include "models/layers/batch_norm_act_cpu.h"

namespace foldtorch::layers {

BatchNormAct2dImpl::BatchNormAct2dImpl(int64_t channels, BatchNormActOptions options) : options_(options) {
  weight = register_parameter("weight", at::ones({channels}));
  bias = register_parameter("bias", at::zeros({channels}));
  running_mean = register_buffer("running_mean", at::zeros({channels}));
  running_var = register_buffer("running_var", at::ones({channels}));
  num_batches_tracked = register_buffer("num_batches_tracked", at::zeros({}, at::kLong));
}

void BatchNormAct2dImpl::reset_parameters() {
  at::NoGradGuard no_grad;
  weight.fill_(1);
  bias.zero_();
  running_mean.zero_();
  running_var.fill_(1);
  num_batches_tracked.zero_();
}

torch::Tensor BatchNormAct2dImpl::forward(const torch::Tensor& x) {
  const bool batch_statistics = is_training() && !frozen_;
  if (batch_statistics) {
    at::NoGradGuard no_grad;
    num_batches_tracked.add_(1);
  }
  if (batch_statistics && fused_batch_norm_act_applies(x))
    return fused_batch_norm_act_train(x, weight, bias, running_mean, running_var, options_.momentum, options_.eps,
                                      options_.relu6);
  auto y = at::batch_norm(x, weight, bias, running_mean, running_var, batch_statistics, options_.momentum, options_.eps,
                          /*cudnn_enabled=*/true);
  return activate(y);
}

std::pair<torch::Tensor, torch::Tensor> BatchNormAct2dImpl::running_affine() const {
  auto scale = weight * (running_var + options_.eps).rsqrt();
  return {scale, bias - running_mean * scale};
}

torch::Tensor BatchNormAct2dImpl::activate(torch::Tensor y) const {
  // In place, as timm's inplace ReLU6: neither batch_norm's nor conv2d's backward needs its output.
  return options_.relu6 ? at::hardtanh_(y, 0.0, 6.0) : y;
}

}  // namespace foldtorch::layers
