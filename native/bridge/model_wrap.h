// The JS-visible Model (an EVA-02 or ConvNeXt classifier living on one device) and the createModel /
// listModels factories; other wraps (the Learner) reach the native module through ModelWrap::Unwrap.
#pragma once

#include <napi.h>

#include <c10/core/Device.h>

#include <memory>
#include <string>

namespace foldtorch {
class ClassifierImpl;
struct LoadReport;
}  // namespace foldtorch

namespace foldtorch::bridge {

struct ModelHandle {
  std::shared_ptr<ClassifierImpl> module;
  c10::Device device{c10::kCPU};
};

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  // Exports Model, createModel, listModels and readSafetensors.
  static void Init(Napi::Env env, Napi::Object exports);
  // The native model and its device behind a JS Model object. Throws a JS TypeError for any other value and
  // "Model is disposed" once disposed. Work on the module must run on ComputeThread::ForDevice(device).
  // (ObjectWrap's own Unwrap(Napi::Object) → ModelWrap* stays available: an exact Napi::Object picks it.)
  static ModelHandle Unwrap(Napi::Value value);
  using Napi::ObjectWrap<ModelWrap>::Unwrap;

  explicit ModelWrap(const Napi::CallbackInfo& info);
  // Wraps a model built on its compute thread (the JS constructor is not callable from user code).
  static Napi::Object NewInstance(Napi::Env env, ModelHandle handle, std::string name, const LoadReport& report,
                                  bool channels_last);

  struct State;  // bridge/model_state.h

 private:
  ModelHandle Live(Napi::Env env) const;
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value GetLoadReport(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);
  Napi::Value Forward(const Napi::CallbackInfo& info);
  Napi::Value ForwardViews(const Napi::CallbackInfo& info);
  Napi::Value ForwardFloat(const Napi::CallbackInfo& info);
  Napi::Value LossAndGrads(const Napi::CallbackInfo& info);
  Napi::Value GradCam(const Napi::CallbackInfo& info);  // model_forward.cc
  Napi::Value Parameters(const Napi::CallbackInfo& info);
  Napi::Value GetTensors(const Napi::CallbackInfo& info);
  Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value SaveWeights(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);
  Napi::Value Benchmark(const Napi::CallbackInfo& info);  // model_bench.cc

  std::shared_ptr<State> state_;
};

// The load report as { loaded, missing, unexpected, resampled, replaced } arrays of key names.
Napi::Object LoadReportToJs(Napi::Env env, const LoadReport& report);

}  // namespace foldtorch::bridge
