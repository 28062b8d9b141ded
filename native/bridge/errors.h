// Turns native exceptions into worded JS errors (message only, never the C++ backtrace), and the shared
// "{Object} is disposed" error.
#pragma once

#include <napi.h>

#include <exception>
#include <functional>
#include <optional>
#include <string>

namespace foldtorch::bridge {

struct NativeFailure {
  enum class Kind { kError, kTypeError, kRangeError };
  Kind kind = Kind::kError;
  std::string message;
};

// Where a failure happened, for the out-of-memory wording: the device ("cpu", "cuda:0") and what the call was
// doing ("running a training step").
struct FailureContext {
  std::string device;
  std::string activity;
};

// Classifies the in-flight exception: c10::TypeError → TypeError, c10::ValueError/IndexError → RangeError,
// anything else → Error. An allocation failure (CUDA's OutOfMemoryError, the CPU allocator's enforce failure,
// std::bad_alloc) becomes "out of memory on {device} while {activity} (...); try a smaller batchSize or imgSize".
// Safe to call on any thread.
NativeFailure DescribeException(std::exception_ptr error, const FailureContext& context = {});

// The worded out-of-memory message for an allocator's text; nullopt when the text is not an allocation failure.
std::optional<std::string> OutOfMemoryMessage(const std::string& text, const FailureContext& context);

// Builds the JS error for a failure, reusing `caller` (captured where the JS call was made) so the stack
// points at the caller.
Napi::Value MakeJsError(Napi::Env env, const NativeFailure& failure, Napi::Object caller);

// Runs a synchronous binding body; a native exception leaves it as a worded JS error, never a terminate().
Napi::Value GuardedCall(Napi::Env env, const std::function<Napi::Value()>& body);

[[noreturn]] void ThrowDisposed(Napi::Env env, const char* object_name);
[[noreturn]] void ThrowTypeError(Napi::Env env, const std::string& message);
[[noreturn]] void ThrowRangeError(Napi::Env env, const std::string& message);

}  // namespace foldtorch::bridge
