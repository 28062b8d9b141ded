// Training-mode BatchNorm (+ ReLU6) on the CPU for channels-last float32 or bfloat16 tensors, in two passes over the
// activations forward (statistics; normalise and clamp) and two backward, instead of ATen's batch_norm → hardtanh_
// chain (six OpenMP regions forward, and a separate activation pass each way). Same semantics as that chain: biased
// batch variance to normalise, unbiased to update the running variance, momentum update, ReLU6's gradient zero where
// the clamped output sits at 0 or 6 (as hardtanh_'s backward sees it).
#pragma once

#include <ATen/Tensor.h>

namespace foldtorch::layers {

// Whether the fused path takes `x`: a 4-D float32 or bfloat16 (autocast) CPU tensor in channels-last layout with more
// than one value per channel. Anything else keeps ATen's batch_norm.
bool fused_batch_norm_act_applies(const at::Tensor& x);

// Batch statistics normalise `x`; running_mean/running_var are updated in place (momentum, unbiased variance). The
// output has x's dtype; statistics and affine parameters stay float32, as ATen's mixed-precision batch_norm.
at::Tensor fused_batch_norm_act_train(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                      at::Tensor& running_mean, at::Tensor& running_var, double momentum, double eps,
                                      bool relu6);

}  // namespace foldtorch::layers
