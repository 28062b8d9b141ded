// Ranger21 stepped over given gradients, every step's parameters and lrs recorded: the parity trace that
// `foldtorch parity` compares with the reference optimizer's.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

#include "train/ranger21.h"

namespace foldtorch::train {

struct Ranger21TraceInput {
  std::vector<at::Tensor> params;  // float32 leaves; stepped in place
  std::vector<at::Tensor> grads;   // [steps, ...param shape] per parameter
  std::vector<std::vector<int64_t>> group_indices;
  std::vector<Ranger21Options> group_options;
  Ranger21Options defaults;
  int64_t steps = 0;
};

struct Ranger21TraceResult {
  std::vector<at::Tensor> params;  // [steps, ...param shape]: after each step
  std::vector<at::Tensor> grads;   // [steps, ...param shape]: as the optimizer left them (centralised etc.)
  std::vector<double> lrs;         // steps x groups, row-major
  std::vector<double> variance_normalized;
};

Ranger21TraceResult RunRanger21Trace(Ranger21TraceInput input);

}  // namespace foldtorch::train
