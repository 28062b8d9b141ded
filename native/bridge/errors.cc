// Maps c10 and std exceptions to JS errors with stable codes.
#include "bridge/errors.h"

#include <c10/util/Exception.h>

namespace foldtorch::bridge {

NativeFailure DescribeException(std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const c10::TypeError& e) {
    return {NativeFailure::Kind::kTypeError, e.what_without_backtrace()};
  } catch (const c10::ValueError& e) {
    return {NativeFailure::Kind::kRangeError, e.what_without_backtrace()};
  } catch (const c10::IndexError& e) {
    return {NativeFailure::Kind::kRangeError, e.what_without_backtrace()};
  } catch (const c10::OutOfMemoryError& e) {
    return {NativeFailure::Kind::kError,
            std::string(e.what_without_backtrace()) +
                " (try a smaller batch size or enable gradient checkpointing)"};
  } catch (const c10::Error& e) {
    return {NativeFailure::Kind::kError, e.what_without_backtrace()};
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
    throw Napi::Error(env, MakeJsError(env, DescribeException(std::current_exception()), Napi::Error::New(env).Value()));
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
