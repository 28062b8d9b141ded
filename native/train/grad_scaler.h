// Mixed precision: the autocast mode of a run (fp32, CPU/CUDA bf16, CUDA fp16) and the dynamic loss scaler
// fp16 needs (skip the step and back off on inf/NaN gradients, grow after a run of clean steps).
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <string>
#include <vector>

namespace foldtorch::train {

enum class Precision { kFp32, kBf16, kFp16 };

Precision ParsePrecision(const std::string& name);  // "float32" | "bfloat16" | "float16" (or fp32, bf16, fp16)
std::string PrecisionName(Precision precision);

// What a precision means on a device: whether autocast is on and at which dtype, and whether a loss scaler
// is needed (fp16 only: bf16 has fp32's exponent range).
struct AutocastMode {
  bool enabled = false;
  c10::ScalarType dtype = c10::ScalarType::Float;
  c10::DeviceType device_type = c10::DeviceType::CPU;
  bool needs_scaler = false;

  // Throws for fp16 on CPU (CPU autocast is bf16) and for unknown devices.
  static AutocastMode For(Precision precision, const c10::Device& device);
};

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
