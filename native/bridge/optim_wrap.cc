// ranger21Trace(), ranger21Schedule() and classificationLoss(): Ranger21 and the losses over plain typed
// arrays, for parity checks against the reference implementations.
#include "bridge/optim_wrap.h"

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "bridge/compute_thread.h"
#include "bridge/errors.h"
#include "bridge/tensor_bridge.h"
#include "train/ranger21_trace.h"

namespace foldtorch::bridge {

namespace {

int64_t Numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// A private float32 copy of a Float32Array of exactly `numel` elements.
at::Tensor CopyFloat32Array(Napi::Env env, Napi::Value value, std::vector<int64_t> shape, const std::string& argument) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    ThrowTypeError(env, "Expected a Float32Array for " + argument + " but received " + DescribeValue(value));
  }
  auto array = value.As<Napi::Float32Array>();
  const int64_t numel = Numel(shape);
  if (static_cast<int64_t>(array.ElementLength()) != numel) {
    ThrowRangeError(env, "Expected " + std::to_string(numel) + " elements for " + argument + " but received " +
                             std::to_string(array.ElementLength()));
  }
  return at::from_blob(array.Data(), shape, at::kFloat).clone();
}

Napi::Float64Array ToFloat64Array(Napi::Env env, const std::vector<double>& values) {
  auto out = Napi::Float64Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); ++i) out[i] = values[i];
  return out;
}

train::Ranger21TraceInput ParseTrace(Napi::Env env, const OptionReader& options) {
  train::Ranger21TraceInput input;
  input.defaults = ParseRanger21Options(OptionReader(env, options.Raw("optimizer"), "ranger21Trace.optimizer"));
  input.steps = options.Integer("steps");
  if (input.steps < 1)
    ThrowRangeError(env,
                    "Expected a positive integer for ranger21Trace.steps but received " + std::to_string(input.steps));
  Napi::Value params = options.Raw("params"), grads = options.Raw("grads");
  if (!params.IsArray() || !grads.IsArray() || params.As<Napi::Array>().Length() != grads.As<Napi::Array>().Length()) {
    ThrowTypeError(env, "Expected arrays of equal length for ranger21Trace.params and ranger21Trace.grads");
  }
  for (uint32_t i = 0; i < params.As<Napi::Array>().Length(); ++i) {
    const std::string where = "ranger21Trace.params[" + std::to_string(i) + "]";
    OptionReader param(env, params.As<Napi::Array>().Get(i), where.c_str());
    auto shape = param.IntegerArray("shape");
    input.params.push_back(CopyFloat32Array(env, param.Raw("data"), shape, where + ".data").requires_grad_(true));
    shape.insert(shape.begin(), input.steps);
    input.grads.push_back(
        CopyFloat32Array(env, grads.As<Napi::Array>().Get(i), shape, "ranger21Trace.grads[" + std::to_string(i) + "]"));
  }
  if (!options.Has("groups")) {
    input.group_indices.emplace_back();
    for (size_t i = 0; i < input.params.size(); ++i) input.group_indices[0].push_back(static_cast<int64_t>(i));
    input.group_options.push_back(input.defaults);
    return input;
  }
  auto groups = options.Raw("groups").As<Napi::Array>();
  for (uint32_t g = 0; g < groups.Length(); ++g) {
    const std::string where = "ranger21Trace.groups[" + std::to_string(g) + "]";
    OptionReader group(env, groups.Get(g), where.c_str());
    auto indices = group.IntegerArray("params");
    for (int64_t i : indices) {
      if (i < 0 || i >= static_cast<int64_t>(input.params.size()))
        ThrowRangeError(
            env, "Expected parameter indices in range for " + where + ".params but received " + std::to_string(i));
    }
    auto group_options = input.defaults;
    group_options.lr(group.Number("lr", input.defaults.lr()));
    group_options.weight_decay(group.Number("weightDecay", input.defaults.weight_decay()));
    group_options.eps(group.Number("eps", input.defaults.eps()));
    input.group_indices.push_back(indices);
    input.group_options.push_back(group_options);
  }
  return input;
}

Napi::Value Ranger21Trace(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  train::Ranger21TraceInput input = ParseTrace(env, OptionReader(env, info[0], "ranger21Trace"));
  AsyncCall<train::Ranger21TraceResult> call(env, c10::Device(c10::kCPU));
  return call.Run([input]() mutable { return train::RunRanger21Trace(std::move(input)); },
                  [](Napi::Env env, train::Ranger21TraceResult& result) -> Napi::Value {
                    Napi::Object out = Napi::Object::New(env);
                    Napi::Array params = Napi::Array::New(env), grads = Napi::Array::New(env);
                    for (uint32_t i = 0; i < result.params.size(); ++i) {
                      params.Set(i, HostTensorToJs(env, ToHostFloat(result.params[i])));
                      grads.Set(i, HostTensorToJs(env, ToHostFloat(result.grads[i])));
                    }
                    out.Set("params", params);
                    out.Set("grads", grads);
                    out.Set("lrs", ToFloat64Array(env, result.lrs));
                    out.Set("varianceNormalized", ToFloat64Array(env, result.variance_normalized));
                    return out;
                  });
}

// The lr of one group with the default lr at steps 1..steps: pure schedule arithmetic, no tensors.
Napi::Value Ranger21Schedule(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return GuardedCall(env, [&]() -> Napi::Value {
    OptionReader options(env, info[0], "ranger21Schedule");
    const auto defaults =
        ParseRanger21Options(OptionReader(env, options.Raw("optimizer"), "ranger21Schedule.optimizer"));
    const int64_t steps = options.Integer("steps");
    if (steps < 1 || steps > 100000000)
      ThrowRangeError(env, "Expected an integer from 1 to 100000000 for ranger21Schedule.steps but received " +
                               std::to_string(steps));
    const double group_lr = options.Number("groupLr", defaults.lr());
    const auto schedule = train::Ranger21Schedule::From(defaults);
    std::vector<double> lrs;
    for (int64_t step = 1; step <= steps; ++step) lrs.push_back(schedule.LearningRate(defaults, group_lr, step));
    Napi::Object out = Napi::Object::New(env);
    out.Set("lrs", ToFloat64Array(env, lrs));
    out.Set("warmupIterations", static_cast<double>(schedule.warmup_iterations));
    out.Set("warmdownStart", static_cast<double>(schedule.warmdown_start));
    out.Set("totalIterations", static_cast<double>(schedule.total_iterations));
    return out;
  });
}

Napi::Value ClassificationLossCall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OptionReader options(env, info[0], "classificationLoss");
  const auto shape = options.IntegerArray("shape");
  if (shape.size() != 2 || shape[0] < 1 || shape[1] < 1)
    ThrowRangeError(env, "Expected a shape [batch, classes] for classificationLoss.shape");
  at::Tensor logits = CopyFloat32Array(env, options.Raw("logits"), shape, "classificationLoss.logits");
  const auto targets_list = ReadClassIndices(env, options.Raw("targets"), "classificationLoss.targets");
  at::Tensor targets = at::tensor(targets_list, at::kLong);
  const train::LossOptions loss_options = ParseLossOptions(options);
  AsyncCall<train::LossWithGradient> call(env, c10::Device(c10::kCPU));
  return call.Run([=] { return train::ClassificationLossWithGradient(logits, targets, loss_options); },
                  [](Napi::Env env, train::LossWithGradient& result) -> Napi::Value {
                    Napi::Object out = Napi::Object::New(env);
                    out.Set("loss", result.loss);
                    out.Set("complementTerm", result.complement_term);
                    out.Set("grad", HostTensorToJs(env, ToHostFloat(result.grad)));
                    return out;
                  });
}

}  // namespace

train::Ranger21Options ParseRanger21Options(const OptionReader& o) {
  train::Ranger21Options out(o.Number("lr"));
  out.weight_decay(o.Number("weightDecay", out.weight_decay()));
  out.eps(o.Number("eps", out.eps()));
  if (o.Has("betas")) {
    const auto betas = o.NumberArray("betas");
    if (betas.size() != 2)
      ThrowRangeError(o.env(), "Expected two numbers for betas but received " + std::to_string(betas.size()));
    out.betas(std::make_tuple(betas[0], betas[1]));
  }
  out.num_epochs(o.Integer("numEpochs"));
  out.num_batches_per_epoch(o.Integer("numBatchesPerEpoch"));
  out.use_warmup(o.Bool("useWarmup", out.use_warmup()));
  if (o.Has("numWarmupIterations")) out.num_warmup_iterations(o.Integer("numWarmupIterations"));
  out.warmup_pct_default(o.Number("warmupPctDefault", out.warmup_pct_default()));
  out.warmdown_active(o.Bool("warmdownActive", out.warmdown_active()));
  out.warmdown_start_pct(o.Number("warmdownStartPct", out.warmdown_start_pct()));
  out.warmdown_min_lr(o.Number("warmdownMinLr", out.warmdown_min_lr()));
  out.lookahead_active(o.Bool("lookaheadActive", out.lookahead_active()));
  out.lookahead_merge_time(o.Integer("lookaheadMergeTime", out.lookahead_merge_time()));
  out.lookahead_blending_alpha(o.Number("lookaheadBlendingAlpha", out.lookahead_blending_alpha()));
  out.softplus(o.Bool("softplus", out.softplus()));
  out.beta_softplus(o.Number("betaSoftplus", out.beta_softplus()));
  out.using_gc(o.Bool("usingGc", out.using_gc()));
  out.using_normgc(o.Bool("usingNormGc", out.using_normgc()));
  out.gc_conv_only(o.Bool("gcConvOnly", out.gc_conv_only()));
  out.normloss_active(o.Bool("normlossActive", out.normloss_active()));
  out.normloss_factor(o.Number("normlossFactor", out.normloss_factor()));
  out.use_adaptive_gradient_clipping(o.Bool("useAdaptiveGradientClipping", out.use_adaptive_gradient_clipping()));
  out.agc_clipping_value(o.Number("agcClippingValue", out.agc_clipping_value()));
  out.agc_eps(o.Number("agcEps", out.agc_eps()));
  out.foreach (o.Bool("foreach", out.foreach ()));
  const std::string mode = o.String("mode", "corrected");
  if (mode != "legacy" && mode != "corrected")
    ThrowRangeError(o.env(), "Expected \"legacy\" or \"corrected\" for mode but received \"" + mode + "\"");
  out.mode(mode == "legacy" ? train::Ranger21Mode::kLegacy : train::Ranger21Mode::kCorrected);
  return out;
}

train::LossOptions ParseLossOptions(const OptionReader& o) {
  train::LossOptions out;
  const std::string kind = o.String("kind", "cce");
  if (kind != "cce" && kind != "ce")
    ThrowRangeError(o.env(), "Expected \"cce\" or \"ce\" for kind but received \"" + kind + "\"");
  out.kind = kind == "cce" ? train::LossKind::kComplementCrossEntropy : train::LossKind::kCrossEntropy;
  const std::string variant = o.String("variant", "head");
  if (variant != "head" && variant != "v2021")
    ThrowRangeError(o.env(), "Expected \"head\" or \"v2021\" for variant but received \"" + variant + "\"");
  out.variant = variant == "head" ? train::CceVariant::kHead : train::CceVariant::kV2021;
  out.balancing_factor = o.Number("balancingFactor", out.balancing_factor);
  out.label_smoothing = o.Number("labelSmoothing", out.label_smoothing);
  return out;
}

Napi::Object InitOptimExports(Napi::Env env, Napi::Object exports) {
  exports.Set("ranger21Trace", Napi::Function::New(env, Ranger21Trace, "ranger21Trace"));
  exports.Set("ranger21Schedule", Napi::Function::New(env, Ranger21Schedule, "ranger21Schedule"));
  exports.Set("classificationLoss", Napi::Function::New(env, ClassificationLossCall, "classificationLoss"));
  return exports;
}

}  // namespace foldtorch::bridge
