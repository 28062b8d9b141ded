// Mixed precision in one vocabulary, torch's dtype names ("float32", "bfloat16", "float16"): parsed here only, and
// what each means on a device (autocast on or off, at which dtype, with or without a loss scaler).
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace foldtorch::train {

enum class Precision { kFp32, kBf16, kFp16 };

// "float32" | "bfloat16" | "float16"; anything else throws a ValueError listing them and naming `what`.
Precision ParsePrecision(const std::string& name, const char* what = "precision");
std::string PrecisionName(Precision precision);
// The dtype a precision computes in under autocast (Float for float32: autocast off).
c10::ScalarType PrecisionDtype(Precision precision);

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

}  // namespace foldtorch::train
