// Reading the one flat options object each native call receives (TypeScript has validated and defaulted it;
// these re-check only what would crash, with worded errors).
#pragma once

#include <napi.h>

#include <c10/core/Device.h>

#include <string>
#include <vector>

#include "train/precision.h"

namespace foldtorch::bridge {

class OptionReader {
 public:
  OptionReader(Napi::Env env, Napi::Value options, const char* where);

  bool Has(const char* key) const;
  std::string String(const char* key) const;
  std::string String(const char* key, const std::string& fallback) const;
  double Number(const char* key) const;
  double Number(const char* key, double fallback) const;
  int64_t Integer(const char* key) const;
  int64_t Integer(const char* key, int64_t fallback) const;
  bool Bool(const char* key, bool fallback) const;
  std::vector<int64_t> IntegerArray(const char* key) const;
  std::vector<double> NumberArray(const char* key) const;
  std::vector<std::string> StringArray(const char* key) const;
  Napi::Value Raw(const char* key) const;
  // "cpu", "cuda", "cuda:N"; CUDA is checked against this build and machine.
  c10::Device Device(const char* key = "device") const;

  Napi::Env env() const { return env_; }

 private:
  Napi::Value Required(const char* key, const char* expected) const;
  [[noreturn]] void Fail(const char* key, const char* expected, Napi::Value got) const;
  Napi::Env env_;
  Napi::Object object_;
  std::string where_;
};

// Parses a device string, throwing a JS RangeError naming `argument` when it is unknown or unavailable.
c10::Device ParseDevice(Napi::Env env, const std::string& text, const std::string& argument);

// options[key] by the one precision vocabulary (train/precision.h), float32 when absent; a RangeError otherwise.
train::Precision ReadPrecision(const OptionReader& options, const char* key = "precision");

// A short description of a JS value for error messages.
std::string DescribeValue(Napi::Value value);

}  // namespace foldtorch::bridge
