// The JS-visible Learner (createLearner(model, options)): train/eval steps, freezing, counters and
// checkpoints, each running on the model's device compute thread.
#pragma once

#include <napi.h>

#include <memory>

namespace foldtorch::bridge {

class LearnerWrap : public Napi::ObjectWrap<LearnerWrap> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit LearnerWrap(const Napi::CallbackInfo& info);

  struct State;

 private:
  std::shared_ptr<State> Live(Napi::Env env) const;
  Napi::Value TrainStep(const Napi::CallbackInfo& info);
  Napi::Value EvalStep(const Napi::CallbackInfo& info);
  Napi::Value SetTrainable(const Napi::CallbackInfo& info);
  Napi::Value ParameterInfo(const Napi::CallbackInfo& info);
  Napi::Value Counters(const Napi::CallbackInfo& info);
  Napi::Value Save(const Napi::CallbackInfo& info);
  Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value InjectNonFiniteGradient(const Napi::CallbackInfo& info);
  Napi::Value IsDisposed(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<State> state_;
};

// Registers Learner, createLearner, manualSeed and the standalone optimizer/loss calls (optim_wrap.h).
void InitTrainExports(Napi::Env env, Napi::Object exports);

}  // namespace foldtorch::bridge
