// LearnerWrap: parses createLearner's options into train::LearnerOptions, uploads image batches through the
// tensor bridge and runs every Learner call on the model device's compute thread.
#include "bridge/learner_wrap.h"

#include <ATen/ATen.h>

#include <map>
#include <mutex>

#include "bridge/compute_thread.h"
#include "bridge/errors.h"
#include "bridge/model_wrap.h"
#include "bridge/optim_wrap.h"
#include "bridge/options.h"
#include "bridge/tensor_bridge.h"
#include "train/checkpoint.h"
#include "train/learner.h"

namespace foldtorch::bridge {

struct LearnerWrap::State {
  std::shared_ptr<train::Learner> learner;  // reset by dispose(); queued calls keep their own reference
  c10::Device device{c10::kCPU};
  train::BatchTransform transform;  // the normalisation; each train step adds its augmentations
  bool channels_last = false;
};

namespace {

std::mutex g_constructors_mutex;
std::map<napi_env, Napi::FunctionReference*> g_constructors;

struct Parsed {
  train::LearnerOptions options;
  train::BatchTransform transform;
  bool channels_last = false;
};

Parsed ParseLearnerOptions(Napi::Env env, const OptionReader& o) {
  Parsed parsed;
  auto& options = parsed.options;
  options.optimizer = ParseRanger21Options(OptionReader(env, o.Raw("optimizer"), "createLearner options.optimizer"));
  if (o.Has("loss")) options.loss = ParseLossOptions(OptionReader(env, o.Raw("loss"), "createLearner options.loss"));
  options.precision = ReadPrecision(o);
  options.accumulation_steps = o.Integer("accumulationSteps", 1);
  if (options.accumulation_steps < 1)
    ThrowRangeError(env, "Expected a positive integer for accumulationSteps but received " +
                             std::to_string(options.accumulation_steps));
  if (o.Has("seed")) options.seed = static_cast<uint64_t>(o.Integer("seed"));
  options.force_grad_scaler = o.Bool("forceGradScaler", false);
  options.data_parallel = o.Bool("dataParallel", false);
  if (o.Has("gradScaler")) {
    OptionReader s(env, o.Raw("gradScaler"), "createLearner options.gradScaler");
    options.scaler.init_scale = s.Number("initScale", options.scaler.init_scale);
    options.scaler.growth_factor = s.Number("growthFactor", options.scaler.growth_factor);
    options.scaler.backoff_factor = s.Number("backoffFactor", options.scaler.backoff_factor);
    options.scaler.growth_interval = s.Integer("growthInterval", options.scaler.growth_interval);
  }
  if (o.Has("paramGroups")) {
    auto groups = o.Raw("paramGroups").As<Napi::Array>();
    for (uint32_t i = 0; i < groups.Length(); ++i) {
      const std::string where = "createLearner options.paramGroups[" + std::to_string(i) + "]";
      OptionReader g(env, groups.Get(i), where.c_str());
      train::ParamGroupRule rule{g.String("pattern"), std::nullopt, std::nullopt};
      if (g.Has("lr")) rule.lr = g.Number("lr");
      if (g.Has("weightDecay")) rule.weight_decay = g.Number("weightDecay");
      options.param_groups.push_back(rule);
    }
  }
  parsed.transform = ReadNormalization(env, o.NumberArray("mean"), o.NumberArray("std"), 3, "createLearner options");
  parsed.channels_last = o.Bool("channelsLast", false);
  return parsed;
}

struct CountersSnapshot {
  train::LearnerCounters counters;
  double scale = 1.0;
  double next_lr = 0.0;
};

// Taken on the compute thread, between steps.
CountersSnapshot TakeCounters(const train::Learner& learner) {
  return {learner.counters(), learner.scaler() ? learner.scaler()->scale_value() : 1.0,
          learner.optimizer().scheduled_lrs(learner.optimizer().iteration() + 1).front()};
}

Napi::Object CountersToJs(Napi::Env env, const CountersSnapshot& s) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("step", static_cast<double>(s.counters.step));
  out.Set("microStep", static_cast<double>(s.counters.micro_step));
  out.Set("skippedSteps", static_cast<double>(s.counters.skipped_steps));
  out.Set("samples", static_cast<double>(s.counters.samples));
  out.Set("scale", s.scale);
  out.Set("nextLr", s.next_lr);
  return out;
}

Napi::Object CheckpointToJs(Napi::Env env, const train::CheckpointInfo& info) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("path", info.path);
  out.Set("document", info.document);
  out.Set("step", static_cast<double>(info.counters.step));
  return out;
}

Napi::Value CreateLearner(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModelHandle handle = ModelWrap::Unwrap(info[0]);
  Parsed parsed = ParseLearnerOptions(env, OptionReader(env, info[1], "createLearner options"));
  AsyncCall<std::shared_ptr<LearnerWrap::State>> call(env, handle.device, "creating the learner");
  return call.Run(
      [handle, parsed] {
        auto state = std::make_shared<LearnerWrap::State>();
        state->learner = std::make_shared<train::Learner>(handle.module, handle.device, parsed.options);
        state->device = handle.device;
        state->transform = parsed.transform;
        state->channels_last = parsed.channels_last;
        return state;
      },
      [](Napi::Env env, std::shared_ptr<LearnerWrap::State>& state) -> Napi::Value {
        Napi::Function constructor;
        {
          std::lock_guard<std::mutex> lock(g_constructors_mutex);
          constructor = g_constructors.at(env)->Value();
        }
        return constructor.New({Napi::External<std::shared_ptr<LearnerWrap::State>>::New(env, &state)});
      });
}

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber())
    ThrowTypeError(env, "Expected a number for seed but received " + DescribeValue(info[0]));
  const int64_t seed = info[0].As<Napi::Number>().Int64Value();
  if (seed < 0) ThrowRangeError(env, "Expected a non-negative integer for seed but received " + std::to_string(seed));
  return GuardedCall(env, [&]() -> Napi::Value {
    at::manual_seed(static_cast<uint64_t>(seed));  // seeds the CUDA generators too, which can fail
    return env.Undefined();
  });
}

}  // namespace

LearnerWrap::LearnerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LearnerWrap>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    ThrowTypeError(info.Env(), "Learner cannot be constructed directly: use createLearner(model, options)");
  }
  state_ = *info[0].As<Napi::External<std::shared_ptr<State>>>().Data();
}

std::shared_ptr<LearnerWrap::State> LearnerWrap::Live(Napi::Env env) const {
  if (!state_ || !state_->learner) ThrowDisposed(env, "Learner");
  return std::make_shared<State>(*state_);
}

Napi::Value LearnerWrap::TrainStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto state = Live(env);
  OptionReader options(env, info[2], "trainStep options");
  ImageBatch images = ReadImageBatch(env, info[0], options.IntegerArray("shape"), "images");
  const auto labels = ReadClassIndices(env, info[1], "labels");
  if (static_cast<int64_t>(labels.size()) != images.batch) {
    ThrowRangeError(env, "Expected " + std::to_string(images.batch) + " labels (one per image) but received " +
                             std::to_string(labels.size()));
  }
  train::BatchTransform transform = state->transform;
  transform.augment = ReadBatchAugment(env, options.Raw("augment"), images, "trainStep options.augment");
  const bool return_logits = options.Bool("returnLogits", false);
  AsyncCall<train::TrainStepResult> call(env, state->device, "running a training step");
  call.Keep(info[0]);
  return call.Run(
      [state, images, labels, transform, return_logits] {
        const auto x = train::TransformBatch(images, transform, state->device, state->channels_last);
        auto result = state->learner->train_step(x, at::tensor(labels, at::kLong), return_logits);
        if (result.logits.defined()) result.logits = ToHostFloat(result.logits);
        return result;
      },
      [](Napi::Env env, train::TrainStepResult& r) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("loss", r.loss);
        out.Set("lr", r.lr);
        out.Set("scale", r.scale);
        out.Set("skipped", r.skipped);
        out.Set("stepped", r.stepped);
        out.Set("step", static_cast<double>(r.step));
        out.Set("microStep", static_cast<double>(r.micro_step));
        out.Set("allreduceSeconds", r.allreduce_seconds);
        if (r.logits.defined()) out.Set("logits", HostTensorToJs(env, r.logits).Get("data"));
        return out;
      });
}

Napi::Value LearnerWrap::EvalStep(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto state = Live(env);
  OptionReader options(env, info[1], "evalStep options");
  ImageBatch images = ReadImageBatch(env, info[0], options.IntegerArray("shape"), "images");
  AsyncCall<at::Tensor> call(env, state->device);
  call.Keep(info[0]);
  return call.Run(
      [state, images] {
        return ToHostFloat(state->learner->eval_step(
            train::TransformBatch(images, state->transform, state->device, state->channels_last)));
      },
      [](Napi::Env env, at::Tensor& logits) -> Napi::Value { return HostTensorToJs(env, logits); });
}

Napi::Value LearnerWrap::SetTrainable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto state = Live(env);
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsBoolean()) {
    ThrowTypeError(env, "Expected (pattern: string, trainable: boolean) for setTrainable");
  }
  const std::string pattern = info[0].As<Napi::String>().Utf8Value();
  const bool trainable = info[1].As<Napi::Boolean>().Value();
  AsyncCall<int64_t> call(env, state->device);
  return call.Run(
      [state, pattern, trainable] { return state->learner->set_trainable(pattern, trainable); },
      [](Napi::Env env, int64_t& count) -> Napi::Value { return Napi::Number::New(env, static_cast<double>(count)); });
}

Napi::Value LearnerWrap::ParameterInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto state = Live(env);
  AsyncCall<std::vector<train::ParameterInfo>> call(env, state->device);
  return call.Run([state] { return state->learner->parameter_info(); },
                  [](Napi::Env env, std::vector<train::ParameterInfo>& params) -> Napi::Value {
                    Napi::Array out = Napi::Array::New(env, params.size());
                    for (uint32_t i = 0; i < params.size(); ++i) {
                      Napi::Object entry = Napi::Object::New(env);
                      Napi::Array shape = Napi::Array::New(env, params[i].shape.size());
                      for (uint32_t d = 0; d < params[i].shape.size(); ++d)
                        shape.Set(d, static_cast<double>(params[i].shape[d]));
                      entry.Set("name", params[i].name);
                      entry.Set("shape", shape);
                      entry.Set("trainable", params[i].trainable);
                      out.Set(i, entry);
                    }
                    return out;
                  });
}

Napi::Value LearnerWrap::Counters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto state = Live(env);
  AsyncCall<CountersSnapshot> call(env, state->device);
  return call.Run([state] { return TakeCounters(*state->learner); },
                  [](Napi::Env env, CountersSnapshot& snapshot) -> Napi::Value { return CountersToJs(env, snapshot); });
}

Napi::Value LearnerWrap::Save(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto state = Live(env);
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString())
    ThrowTypeError(env, "Expected (prefix: string, userJson: string) for save");
  const std::string prefix = info[0].As<Napi::String>().Utf8Value(), user = info[1].As<Napi::String>().Utf8Value();
  AsyncCall<train::CheckpointInfo> call(env, state->device);
  return call.Run([state, prefix, user] { return train::SaveCheckpoint(*state->learner, prefix, user); },
                  [](Napi::Env env, train::CheckpointInfo& info) -> Napi::Value { return CheckpointToJs(env, info); });
}

Napi::Value LearnerWrap::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto state = Live(env);
  if (info.Length() < 1 || !info[0].IsString())
    ThrowTypeError(env, "Expected a string for prefix but received " + DescribeValue(info[0]));
  const std::string prefix = info[0].As<Napi::String>().Utf8Value();
  AsyncCall<train::CheckpointInfo> call(env, state->device);
  return call.Run([state, prefix] { return train::LoadCheckpoint(*state->learner, prefix); },
                  [](Napi::Env env, train::CheckpointInfo& info) -> Napi::Value { return CheckpointToJs(env, info); });
}

Napi::Value LearnerWrap::InjectNonFiniteGradient(const Napi::CallbackInfo& info) {
  Live(info.Env())->learner->inject_nonfinite_gradient();
  return info.Env().Undefined();
}

Napi::Value LearnerWrap::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !state_ || !state_->learner);
}

Napi::Value LearnerWrap::Dispose(const Napi::CallbackInfo& info) {
  if (state_) state_->learner.reset();
  return info.Env().Undefined();
}

void LearnerWrap::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor =
      DefineClass(env, "Learner",
                  {
                      InstanceMethod<&LearnerWrap::TrainStep>("trainStep"),
                      InstanceMethod<&LearnerWrap::EvalStep>("evalStep"),
                      InstanceMethod<&LearnerWrap::SetTrainable>("setTrainable"),
                      InstanceMethod<&LearnerWrap::ParameterInfo>("parameterInfo"),
                      InstanceMethod<&LearnerWrap::Counters>("counters"),
                      InstanceMethod<&LearnerWrap::Save>("save"),
                      InstanceMethod<&LearnerWrap::Load>("load"),
                      InstanceMethod<&LearnerWrap::InjectNonFiniteGradient>("injectNonFiniteGradient"),
                      InstanceAccessor<&LearnerWrap::IsDisposed>("disposed"),
                      InstanceMethod<&LearnerWrap::Dispose>("dispose"),
                  });
  {
    std::lock_guard<std::mutex> lock(g_constructors_mutex);
    g_constructors[env] = new Napi::FunctionReference(Napi::Persistent(constructor));
  }
  exports.Set("Learner", constructor);
  exports.Set("createLearner", Napi::Function::New(env, CreateLearner, "createLearner"));
}

void InitTrainExports(Napi::Env env, Napi::Object exports) {
  LearnerWrap::Init(env, exports);
  InitOptimExports(env, exports);
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed, "manualSeed"));
}

}  // namespace foldtorch::bridge
