// Weight initialisers timm uses that libtorch's C++ API lacks.
#pragma once

#include <ATen/core/Tensor.h>
#include <ATen/core/grad_mode.h>

namespace foldtorch::layers {

// timm's trunc_normal_(std) with its absolute bounds [-2, 2]: for the small stds used (0.02) the bounds never
// bind in practice, so a clamped normal draw is the same distribution.
inline void trunc_normal_(at::Tensor tensor, double std, double low = -2.0, double high = 2.0) {
  at::NoGradGuard no_grad;
  tensor.normal_(0.0, std).clamp_(low, high);
}

}  // namespace foldtorch::layers
