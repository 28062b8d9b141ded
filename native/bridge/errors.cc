// Maps c10 and std exceptions to JS errors with stable codes.
#include "bridge/errors.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <iterator>
#include <new>

namespace foldtorch::bridge {

std::optional<std::string> OutOfMemoryMessage(const std::string& text, const FailureContext& context) {
  static const char* kMarkers[] = {"out of memory", "not enough memory", "can't allocate memory", "std::bad_alloc"};
  const bool allocation = std::any_of(std::begin(kMarkers), std::end(kMarkers),
                                      [&](const char* m) { return text.find(m) != std::string::npos; });
  if (!allocation) return std::nullopt;
  // The allocator's own sentence, without libtorch's "[enforce fail at alloc_cpu.cpp:127] data. " prefix or the
  // CUDA allocator's lines of advice.
  std::string cause = text.substr(0, text.find('\n'));
  const auto enforce = cause.find("[enforce fail at ");
  if (enforce != std::string::npos) {
    const auto end = cause.find("] ", enforce);
    const auto sentence = end == std::string::npos ? std::string::npos : cause.find(". ", end);
    cause = sentence == std::string::npos ? cause : cause.substr(sentence + 2);
  }
  while (!cause.empty() && (cause.back() == '.' || cause.back() == ' ')) cause.pop_back();
  std::string message = "out of memory";
  if (!context.device.empty()) message += " on " + context.device;
  if (!context.activity.empty()) message += " while " + context.activity;
  return message + " (" + cause + "); try a smaller batchSize or imgSize";
}

NativeFailure DescribeException(std::exception_ptr error, const FailureContext& context) {
  try {
    std::rethrow_exception(error);
  } catch (const c10::TypeError& e) {
    return {NativeFailure::Kind::kTypeError, e.what_without_backtrace()};
  } catch (const c10::ValueError& e) {
    return {NativeFailure::Kind::kRangeError, e.what_without_backtrace()};
  } catch (const c10::IndexError& e) {
    return {NativeFailure::Kind::kRangeError, e.what_without_backtrace()};
  } catch (const c10::OutOfMemoryError& e) {
    const std::string text = e.what_without_backtrace();
    return {NativeFailure::Kind::kError, OutOfMemoryMessage(text, context).value_or("out of memory: " + text)};
  } catch (const c10::Error& e) {
    const std::string text = e.what_without_backtrace();
    return {NativeFailure::Kind::kError, OutOfMemoryMessage(text, context).value_or(text)};
  } catch (const std::bad_alloc&) {
    return {NativeFailure::Kind::kError, *OutOfMemoryMessage("std::bad_alloc", context)};
  } catch (const std::invalid_argument& e) {
    return {NativeFailure::Kind::kTypeError, e.what()};
  } catch (const std::out_of_range& e) {
    return {NativeFailure::Kind::kRangeError, e.what()};
  } catch (const std::exception& e) {
    return {NativeFailure::Kind::kError, e.what()};
  } catch (...) {
    return {NativeFailure::Kind::kError, "foldtorch: unknown native exception"};
  }
}

Napi::Value MakeJsError(Napi::Env env, const NativeFailure& failure, Napi::Object caller) {
  const char* code = "ERR_NATIVE";
  Napi::Error error;
  switch (failure.kind) {
    case NativeFailure::Kind::kTypeError:
      error = Napi::TypeError::New(env, failure.message);
      code = "ERR_INVALID_ARG_TYPE";
      break;
    case NativeFailure::Kind::kRangeError:
      error = Napi::RangeError::New(env, failure.message);
      code = "ERR_OUT_OF_RANGE";
      break;
    default:
      error = Napi::Error::New(env, failure.message);
  }
  Napi::Object result = error.Value();
  if (!caller.IsEmpty() && caller.Has("stack")) {
    // Keep the caller's stack, under the native message.
    std::string stack = caller.Get("stack").ToString();
    const auto newline = stack.find('\n');
    std::string head = result.Get("name").ToString().Utf8Value() + ": " + failure.message;
    result.Set("stack", head + (newline == std::string::npos ? "" : stack.substr(newline)));
  }
  result.Set("code", code);
  return result;
}

Napi::Value GuardedCall(Napi::Env env, const std::function<Napi::Value()>& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw Napi::Error(env,
                      MakeJsError(env, DescribeException(std::current_exception()), Napi::Error::New(env).Value()));
  }
}

void ThrowDisposed(Napi::Env env, const char* object_name) {
  Napi::Error error = Napi::Error::New(env, std::string(object_name) + " is disposed");
  error.Set("code", "ERR_DISPOSED");
  throw error;
}

void ThrowTypeError(Napi::Env env, const std::string& message) {
  Napi::TypeError error = Napi::TypeError::New(env, message);
  error.Set("code", "ERR_INVALID_ARG_TYPE");
  throw error;
}

void ThrowRangeError(Napi::Env env, const std::string& message) {
  Napi::RangeError error = Napi::RangeError::New(env, message);
  error.Set("code", "ERR_OUT_OF_RANGE");
  throw error;
}

}  // namespace foldtorch::bridge
