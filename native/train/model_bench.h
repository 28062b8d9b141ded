// Timed forward passes (inference) or training steps (forward, cross-entropy, backward, AdamW, as timm's own
// benchmark script does) of a model on random input in its own layout, for `npm run bench -- model` against timm.
// Training steps change the weights.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <vector>

#include "models/model.h"
#include "train/precision.h"

namespace foldtorch::train {

struct ModelBenchRequest {
  int64_t batch = 1, warmup = 1, iterations = 3;
  bool train = false;
  Precision precision = Precision::kFp32;  // autocast at this dtype when not float32
};

struct ModelBenchTimes {
  std::vector<double> seconds, cpu_seconds;  // one per timed iteration: wall and process CPU time
};

// Throws c10 errors for a request out of range (batch < 1, warmup < 0, iterations < 1).
ModelBenchTimes BenchmarkModel(ClassifierImpl& model, const c10::Device& device, bool channels_last,
                               const ModelBenchRequest& request);

// GFLOP/s of `repeats` square matrix products of side `size` in `dtype` on `device`, after one warm-up product.
double MatmulGflops(int64_t size, int64_t repeats, c10::ScalarType dtype, const c10::Device& device);

}  // namespace foldtorch::train
