// One native compute thread per device, and AsyncCall: run work there, settle a JS Promise back on the JS
// thread. Long GPU/CPU work never occupies the libuv pool that sharp and the file system need.
#pragma once

#include <napi.h>

#include <c10/core/Device.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bridge/errors.h"

namespace foldtorch::bridge {

class ComputeThread {
 public:
  // The thread for a device ("cpu", "cuda:0", ...), started on first use and kept for the process' life.
  static ComputeThread& ForDevice(const c10::Device& device);
  void Post(std::function<void()> task);

  // Intra-op threads for every compute thread (OpenMP's setting is per calling thread, so each applies it).
  static void SetIntraOpThreads(int threads);
  static int IntraOpThreads();

 private:
  explicit ComputeThread(c10::Device device);
  void Loop();
  struct State;
  std::shared_ptr<State> state_;
};

// One asynchronous native call: Keep() JS values alive while the work runs, then Run().
template <typename Result>
class AsyncCall {
 public:
  // `activity` words an out-of-memory failure: "out of memory on cpu while running a training step".
  AsyncCall(Napi::Env env, c10::Device device, const char* activity = "")
      : env_(env), device_(device), activity_(activity), shared_(std::make_shared<Shared>(env)) {
    // The Error is created here, synchronously, so its stack names the JS caller.
    shared_->caller = Napi::Persistent(Napi::Error::New(env).Value());
  }

  void Keep(Napi::Value value) { shared_->keep_alive.push_back(Napi::Persistent(value)); }

  Napi::Promise Run(std::function<Result()> work, std::function<Napi::Value(Napi::Env, Result&)> finish) {
    auto shared = shared_;
    shared->finish = std::move(finish);
    shared->tsfn = Napi::ThreadSafeFunction::New(env_, Napi::Function(), "foldtorch.compute", 0, 1);
    FailureContext context{device_.str(), activity_};
    ComputeThread::ForDevice(device_).Post([shared, context, work = std::move(work)]() mutable {
      try {
        shared->result.emplace(work());
      } catch (...) {
        shared->failure = DescribeException(std::current_exception(), context);
      }
      shared->tsfn.BlockingCall([shared](Napi::Env env, Napi::Function) { Settle(env, *shared); });
      shared->tsfn.Release();
    });
    return shared->deferred.Promise();
  }

 private:
  struct Shared {
    explicit Shared(Napi::Env env) : deferred(Napi::Promise::Deferred::New(env)) {}
    Napi::Promise::Deferred deferred;
    Napi::ObjectReference caller;
    std::vector<Napi::Reference<Napi::Value>> keep_alive;
    std::function<Napi::Value(Napi::Env, Result&)> finish;
    Napi::ThreadSafeFunction tsfn;
    std::optional<Result> result;
    std::optional<NativeFailure> failure;
  };

  static void Settle(Napi::Env env, Shared& shared) {
    Napi::HandleScope scope(env);
    if (shared.failure) {
      shared.deferred.Reject(MakeJsError(env, *shared.failure, shared.caller.Value()));
    } else {
      try {
        shared.deferred.Resolve(shared.finish(env, *shared.result));
      } catch (const Napi::Error& e) {
        shared.deferred.Reject(e.Value());
      } catch (...) {
        shared.deferred.Reject(MakeJsError(env, DescribeException(std::current_exception()), shared.caller.Value()));
      }
    }
    shared.keep_alive.clear();
    shared.caller.Reset();
    shared.result.reset();
  }

  Napi::Env env_;
  c10::Device device_;
  std::string activity_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace foldtorch::bridge
