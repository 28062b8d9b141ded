#include "train/precision.h"

#include <c10/util/Exception.h>

namespace foldtorch::train {

namespace {

struct PrecisionEntry {
  Precision precision;
  const char* name;
  c10::ScalarType dtype;
};

// The table every parse, name and dtype comes from.
constexpr PrecisionEntry kPrecisions[] = {
    {Precision::kFp32, "float32", c10::ScalarType::Float},
    {Precision::kBf16, "bfloat16", c10::ScalarType::BFloat16},
    {Precision::kFp16, "float16", c10::ScalarType::Half},
};

const PrecisionEntry& EntryOf(Precision precision) {
  for (const auto& entry : kPrecisions) {
    if (entry.precision == precision) return entry;
  }
  return kPrecisions[0];
}

}  // namespace

Precision ParsePrecision(const std::string& name, const char* what) {
  for (const auto& entry : kPrecisions) {
    if (name == entry.name) return entry.precision;
  }
  TORCH_CHECK_VALUE(false, "Expected \"float32\", \"bfloat16\" or \"float16\" for ", what, " but received \"", name,
                    "\"");
}

c10::ScalarType PrecisionDtype(Precision precision) { return EntryOf(precision).dtype; }

std::string PrecisionName(Precision precision) { return EntryOf(precision).name; }

AutocastMode AutocastMode::For(Precision precision, const c10::Device& device) {
  TORCH_CHECK_VALUE(device.is_cpu() || device.is_cuda(), "precision: unsupported device ", device.str());
  AutocastMode mode;
  mode.device_type = device.type();
  if (precision == Precision::kFp32) return mode;
  TORCH_CHECK_VALUE(precision != Precision::kFp16 || device.is_cuda(),
                    "precision: float16 autocast needs a CUDA device (got ", device.str(), "); use bfloat16 on CPU");
  mode.enabled = true;
  mode.dtype = PrecisionDtype(precision);
  mode.needs_scaler = precision == Precision::kFp16;
  return mode;
}

}  // namespace foldtorch::train
