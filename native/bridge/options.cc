// OptionReader: typed access to a JS options object with "Expected … for … but received …" errors.
#include "bridge/options.h"

#include "bridge/errors.h"
#include "compat.h"

#include <regex>

namespace foldtorch::bridge {

std::string DescribeValue(Napi::Value value) {
  if (value.IsUndefined()) return "undefined";
  if (value.IsNull()) return "null";
  if (value.IsString()) return "\"" + value.As<Napi::String>().Utf8Value() + "\"";
  if (value.IsNumber() || value.IsBoolean()) return value.ToString().Utf8Value();
  if (value.IsArray()) return "an array of length " + std::to_string(value.As<Napi::Array>().Length());
  if (value.IsBuffer()) return "a Buffer of " + std::to_string(value.As<Napi::Buffer<uint8_t>>().Length()) + " bytes";
  if (value.IsTypedArray()) return "a typed array";
  if (value.IsFunction()) return "a function";
  return "an object";
}

OptionReader::OptionReader(Napi::Env env, Napi::Value options, const char* where) : env_(env), where_(where) {
  if (!options.IsObject())
    ThrowTypeError(env,
                   std::string("Expected an options object for ") + where + " but received " + DescribeValue(options));
  object_ = options.As<Napi::Object>();
}

void OptionReader::Fail(const char* key, const char* expected, Napi::Value got) const {
  ThrowTypeError(
      env_, std::string("Expected ") + expected + " for " + where_ + "." + key + " but received " + DescribeValue(got));
}

bool OptionReader::Has(const char* key) const {
  return object_.Has(key) && !object_.Get(key).IsUndefined() && !object_.Get(key).IsNull();
}

Napi::Value OptionReader::Raw(const char* key) const { return object_.Get(key); }

Napi::Value OptionReader::Required(const char* key, const char* expected) const {
  Napi::Value value = object_.Get(key);
  if (value.IsUndefined()) Fail(key, expected, value);
  return value;
}

std::string OptionReader::String(const char* key) const {
  Napi::Value value = Required(key, "a string");
  if (!value.IsString()) Fail(key, "a string", value);
  return value.As<Napi::String>().Utf8Value();
}

std::string OptionReader::String(const char* key, const std::string& fallback) const {
  return Has(key) ? String(key) : fallback;
}

double OptionReader::Number(const char* key) const {
  Napi::Value value = Required(key, "a number");
  if (!value.IsNumber()) Fail(key, "a number", value);
  return value.As<Napi::Number>().DoubleValue();
}

double OptionReader::Number(const char* key, double fallback) const { return Has(key) ? Number(key) : fallback; }

int64_t OptionReader::Integer(const char* key) const {
  const double value = Number(key);
  if (value != static_cast<double>(static_cast<int64_t>(value))) Fail(key, "an integer", object_.Get(key));
  return static_cast<int64_t>(value);
}

int64_t OptionReader::Integer(const char* key, int64_t fallback) const { return Has(key) ? Integer(key) : fallback; }

bool OptionReader::Bool(const char* key, bool fallback) const {
  if (!Has(key)) return fallback;
  Napi::Value value = object_.Get(key);
  if (!value.IsBoolean()) Fail(key, "a boolean", value);
  return value.As<Napi::Boolean>().Value();
}

std::vector<double> OptionReader::NumberArray(const char* key) const {
  Napi::Value value = Required(key, "an array of numbers");
  if (!value.IsArray()) Fail(key, "an array of numbers", value);
  auto array = value.As<Napi::Array>();
  std::vector<double> out;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    if (!item.IsNumber()) Fail(key, "an array of numbers", value);
    out.push_back(item.As<Napi::Number>().DoubleValue());
  }
  return out;
}

std::vector<int64_t> OptionReader::IntegerArray(const char* key) const {
  std::vector<int64_t> out;
  for (double v : NumberArray(key)) {
    if (v != static_cast<double>(static_cast<int64_t>(v))) Fail(key, "an array of integers", object_.Get(key));
    out.push_back(static_cast<int64_t>(v));
  }
  return out;
}

std::vector<std::string> OptionReader::StringArray(const char* key) const {
  Napi::Value value = Required(key, "an array of strings");
  if (!value.IsArray()) Fail(key, "an array of strings", value);
  auto array = value.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    if (!item.IsString()) Fail(key, "an array of strings", value);
    out.push_back(item.As<Napi::String>().Utf8Value());
  }
  return out;
}

c10::Device OptionReader::Device(const char* key) const {
  return ParseDevice(env_, String(key, "cpu"), where_ + "." + key);
}

c10::Device ParseDevice(Napi::Env env, const std::string& text, const std::string& argument) {
  static const std::regex kPattern("^(cpu|cuda)(:([0-9]+))?$");
  std::smatch match;
  if (!std::regex_match(text, match, kPattern)) {
    ThrowRangeError(env, "Expected \"cpu\", \"cuda\" or \"cuda:N\" for " + argument + " but received \"" + text + "\"");
  }
  if (match[1] == "cpu") {
    if (match[2].matched)
      ThrowRangeError(env, "Expected \"cpu\" without an index for " + argument + " but received \"" + text + "\"");
    return c10::Device(c10::DeviceType::CPU);
  }
  const int64_t count = compat::cuda_device_count();
  if (count == 0) {
    ThrowRangeError(env, "Expected an available device for " + argument + " but received \"" + text + "\": " +
                             (compat::kBuiltWithCuda
                                  ? "no CUDA device is visible on this machine"
                                  : "this addon was built without CUDA (build against a CUDA libtorch: see README)"));
  }
  const int64_t index = match[3].matched ? std::stoll(match[3].str()) : 0;
  if (index >= count) {
    ThrowRangeError(env, "Expected a CUDA index below " + std::to_string(count) + " for " + argument +
                             " but received \"" + text + "\"");
  }
  return c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(index));
}

train::Precision ReadPrecision(const OptionReader& options, const char* key) {
  const std::string name = options.String(key, "float32");
  try {
    return train::ParsePrecision(name, key);
  } catch (const c10::ValueError& error) {  // the table's own words, as the RangeError JavaScript expects
    ThrowRangeError(options.env(), error.what_without_backtrace());
  }
}

}  // namespace foldtorch::bridge
