// The dynamic loss scaler fp16 needs (skip the step and back off on inf/NaN gradients, grow after a run of clean
// steps); the precisions themselves are train/precision.h.
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <string>
#include <vector>

#include "train/precision.h"

namespace foldtorch::train {

struct GradScalerOptions {
  double init_scale = 65536.0;
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int64_t growth_interval = 2000;
};

// The scaler's persistent state, for checkpoints.
struct GradScalerState {
  double scale = 65536.0;
  int64_t growth_tracker = 0;
  int64_t skipped_steps = 0;
  int64_t growth_events = 0;
  int64_t backoff_events = 0;
};

// torch.amp.GradScaler's dynamic scaling. The scale lives on the host (the inf check has to reach the host
// anyway to decide whether to step); unscaling uses libtorch's fused check-and-unscale op on CPU and CUDA.
class GradScaler {
 public:
  GradScaler(GradScalerOptions options, const c10::Device& device);

  at::Tensor scale(const at::Tensor& loss);
  // Divides every defined gradient by the scale in place; true when any of them holds an inf or NaN.
  bool unscale_and_check(const std::vector<at::Tensor>& params);
  // After an optimizer step (taken or skipped): back off on inf, or count toward the next growth.
  void update(bool found_inf);

  double scale_value() const;
  GradScalerState state() const;
  void load_state(const GradScalerState& state);

 private:
  GradScalerOptions options_;
  c10::Device device_;
  GradScalerState state_;
};

}  // namespace foldtorch::train
