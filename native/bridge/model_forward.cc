// Model forward calls for JS: uint8 image batches (with optional autocast), TTA views (flips and rot90 applied
// on the device tensor), float input with intermediates for parity, and loss + gradients for parity.
#include <ATen/ATen.h>

#include <optional>

#include "bridge/compute_thread.h"
#include "bridge/errors.h"
#include "bridge/model_state.h"
#include "bridge/options.h"
#include "bridge/tensor_bridge.h"
#include "compat.h"
#include "models/grad_cam.h"

namespace foldtorch::bridge {

namespace {

// Selects the attention path for one call and restores SDPA, the default, afterwards.
class AttentionGuard {
 public:
  AttentionGuard(ClassifierImpl& model, bool fused) : model_(model) { model_.set_fused_attention(fused); }
  ~AttentionGuard() { model_.set_fused_attention(true); }

 private:
  ClassifierImpl& model_;
};

// Inference autocast: on at the precision's dtype for bfloat16 and float16 (no loss scaler at inference).
struct Precision {
  bool autocast = false;
  c10::ScalarType dtype = c10::ScalarType::Float;
};

Precision ParsePrecision(const OptionReader& options) {
  const train::Precision precision = ReadPrecision(options);
  return {precision != train::Precision::kFp32, train::PrecisionDtype(precision)};
}

// The model's own mean and std unless the call gives others; no augmentations at inference.
train::BatchTransform ParseNormalization(const OptionReader& options, const ClassifierImpl& model, int64_t channels) {
  const auto& cfg = model.pretrained_config();
  return ReadNormalization(options.env(), options.Has("mean") ? options.NumberArray("mean") : cfg.mean,
                           options.Has("std") ? options.NumberArray("std") : cfg.std, channels, "forward options");
}

struct View {
  bool hflip = false, vflip = false;
  int64_t rot = 0;
};

std::vector<View> ParseViews(const OptionReader& options) {
  Napi::Value raw = options.Raw("views");
  if (!raw.IsArray() || raw.As<Napi::Array>().Length() == 0) {
    ThrowTypeError(options.env(), "Expected a non-empty array of {hflip, vflip, rot} for forwardViews options.views but received " + DescribeValue(raw));
  }
  std::vector<View> views;
  auto array = raw.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); ++i) {
    OptionReader view(options.env(), array.Get(i), "forwardViews options.views[i]");
    View v{view.Bool("hflip", false), view.Bool("vflip", false), view.Integer("rot", 0)};
    if (v.rot < 0 || v.rot > 3) ThrowRangeError(options.env(), "Expected an integer from 0 to 3 for views[" + std::to_string(i) + "].rot but received " + std::to_string(v.rot));
    views.push_back(v);
  }
  return views;
}

// ttach order: hflip (W), then vflip (H), then rot90 k times counter-clockwise over (H, W).
at::Tensor ApplyView(const at::Tensor& x, const View& view) {
  at::Tensor out = x;
  if (view.hflip) out = out.flip({3});
  if (view.vflip) out = out.flip({2});
  if (view.rot != 0) out = at::rot90(out, view.rot, {2, 3});
  return out;
}

struct FloatInput {
  const float* data = nullptr;
  std::vector<int64_t> shape;
};

FloatInput ReadFloatInput(Napi::Env env, Napi::Value value, const OptionReader& options) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    ThrowTypeError(env, "Expected a Float32Array for input but received " + DescribeValue(value));
  }
  auto array = value.As<Napi::Float32Array>();
  FloatInput input{array.Data(), options.IntegerArray("shape")};
  int64_t count = 1;
  for (int64_t d : input.shape) {
    if (d <= 0) ThrowRangeError(env, "Expected positive dimensions for input shape but received " + std::to_string(d));
    count *= d;
  }
  if (input.shape.size() != 4 || count != static_cast<int64_t>(array.ElementLength())) {
    ThrowRangeError(env, "Expected a [batch, channels, height, width] shape matching " + std::to_string(array.ElementLength()) +
                             " values for input but received " + std::to_string(input.shape.size()) + " dimensions holding " + std::to_string(count));
  }
  return input;
}

at::Tensor FloatInputToDevice(const FloatInput& input, const c10::Device& device) {
  return at::from_blob(const_cast<float*>(input.data), input.shape, at::TensorOptions().dtype(at::kFloat)).to(device, /*non_blocking=*/false, /*copy=*/true);
}

Napi::Object NamedToJs(Napi::Env env, const NamedOutputs& outputs) {
  Napi::Object out = Napi::Object::New(env);
  for (const auto& [name, tensor] : outputs) out.Set(name, HostTensorToJs(env, tensor));
  return out;
}

}  // namespace

namespace {

// What Forward and ForwardViews share: uint8 images, their normalisation and precision, and an eval-mode,
// no-grad, autocast context around the model on its compute thread.
struct ImageCall {
  ModelHandle handle;
  ImageBatch images;
  train::BatchTransform transform;
  Precision precision;
  bool channels_last = false;

  // Runs `body(model, x)` on normalised images in eval mode, inference mode and the call's autocast.
  template <typename Body>
  at::Tensor Eval(Body body) const {
    TrainingModeGuard eval(*handle.module, false);
    at::InferenceMode inference;
    auto x = train::TransformBatch(images, transform, handle.device, channels_last);
    compat::AutocastGuard autocast(handle.device.type(), precision.dtype, precision.autocast);
    return ToHostFloat(body(*handle.module, x));
  }
};

ImageCall ReadImageCall(Napi::Env env, const Napi::CallbackInfo& info, const OptionReader& options, ModelHandle handle, bool channels_last) {
  ImageBatch images = ReadImageBatch(env, info[0], options.IntegerArray("shape"), "images");
  return {handle, images, ParseNormalization(options, *handle.module, images.channels), ParsePrecision(options), channels_last};
}

}  // namespace

Napi::Value ModelWrap::Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OptionReader options(env, info[1], "forward options");
  const ImageCall image_call = ReadImageCall(env, info, options, Live(env), state_->channels_last);
  const bool pre_logits = options.String("output", "logits") == "preLogits";
  AsyncCall<at::Tensor> call(env, image_call.handle.device);
  call.Keep(info[0]);
  return call.Run(
      [=] {
        return image_call.Eval([&](ClassifierImpl& model, const at::Tensor& x) {
          return model.forward_head(model.forward_features(x), pre_logits);
        });
      },
      [](Napi::Env env, at::Tensor& out) -> Napi::Value { return HostTensorToJs(env, out); });
}

Napi::Value ModelWrap::ForwardViews(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OptionReader options(env, info[1], "forwardViews options");
  const ImageCall image_call = ReadImageCall(env, info, options, Live(env), state_->channels_last);
  const std::vector<View> views = ParseViews(options);
  AsyncCall<at::Tensor> call(env, image_call.handle.device);
  call.Keep(info[0]);
  return call.Run(
      [=] {
        return image_call.Eval([&](ClassifierImpl& model, const at::Tensor& x) {
          std::vector<at::Tensor> logits;
          for (const auto& view : views) {
            auto viewed = ApplyView(x, view);
            if (image_call.channels_last) viewed = viewed.contiguous(at::MemoryFormat::ChannelsLast);
            logits.push_back(model.forward(viewed).to(at::kFloat));
          }
          return at::stack(logits, 0);  // [views, batch, classes]
        });
      },
      [](Napi::Env env, at::Tensor& out) -> Napi::Value { return HostTensorToJs(env, out); });
}

Napi::Value ModelWrap::ForwardFloat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModelHandle handle = Live(env);
  OptionReader options(env, info[1], "forwardFloat options");
  const FloatInput input = ReadFloatInput(env, info[0], options);
  const Precision precision = ParsePrecision(options);
  const bool intermediates = options.Bool("intermediates", false);
  const std::string attention = options.String("attention", "sdpa");
  if (attention != "sdpa" && attention != "explicit") {
    ThrowRangeError(env, "Expected \"sdpa\" or \"explicit\" for forwardFloat options.attention but received \"" + attention + "\"");
  }
  AsyncCall<NamedOutputs> call(env, handle.device);
  call.Keep(info[0]);
  return call.Run(
      [=] {
        TrainingModeGuard eval(*handle.module, false);
        at::InferenceMode inference;
        AttentionGuard attention_path(*handle.module, attention == "sdpa");
        NamedOutputs outputs;
        {
          auto x = FloatInputToDevice(input, handle.device);
          compat::AutocastGuard autocast(handle.device.type(), precision.dtype, precision.autocast);
          if (intermediates) {
            outputs = handle.module->forward_intermediates(x);
          } else {
            // forward's own path (e.g. BatchNorm folded into convolutions), as predictions run it.
            auto features = handle.module->forward_features(x);
            outputs = {{"features", features},
                       {"pre_logits", handle.module->forward_head(features, true)},
                       {"logits", handle.module->forward_head(features, false)}};
          }
        }
        NamedOutputs host;
        for (auto& [name, tensor] : outputs) {
          const bool main = name == "logits" || name == "pre_logits" || name == "features";
          if (main || intermediates) host.emplace_back(name, ToHostFloat(tensor));
        }
        return host;
      },
      [](Napi::Env env, NamedOutputs& outputs) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        NamedOutputs rest;
        for (auto& [name, tensor] : outputs) {
          if (name == "logits") out.Set("logits", HostTensorToJs(env, tensor));
          else if (name == "pre_logits") out.Set("preLogits", HostTensorToJs(env, tensor));
          else if (name == "features") out.Set("features", HostTensorToJs(env, tensor));
          else rest.emplace_back(name, tensor);
        }
        out.Set("intermediates", NamedToJs(env, rest));
        return out;
      });
}

Napi::Value ModelWrap::GradCam(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OptionReader options(env, info[1], "gradCam options");
  const ImageCall image_call = ReadImageCall(env, info, options, Live(env), state_->channels_last);
  const int64_t target = options.Integer("target");
  const int64_t classes = image_call.handle.module->num_classes();
  if (target < 0 || target >= classes) {
    ThrowRangeError(env, "Expected a class from 0 to " + std::to_string(classes - 1) + " for gradCam options.target but received " + std::to_string(target));
  }
  AsyncCall<GradCamResult> call(env, image_call.handle.device);
  call.Keep(info[0]);
  return call.Run(
      [=] {
        auto x = train::TransformBatch(image_call.images, image_call.transform, image_call.handle.device, image_call.channels_last);
        GradCamResult result = foldtorch::GradCam(*image_call.handle.module, x, target);
        return GradCamResult{ToHostFloat(result.cam), ToHostFloat(result.logits)};
      },
      [](Napi::Env env, GradCamResult& result) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("cam", HostTensorToJs(env, result.cam));
        out.Set("logits", HostTensorToJs(env, result.logits));
        return out;
      });
}

struct LossResult {
  double loss = 0;
  at::Tensor logits;
  NamedOutputs grads;
  at::Tensor grad_input;
};

Napi::Value ModelWrap::LossAndGrads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModelHandle handle = Live(env);
  OptionReader options(env, info[1], "lossAndGrads options");
  const FloatInput input = ReadFloatInput(env, info[0], options);
  const std::vector<int64_t> targets = options.IntegerArray("targets");
  const Precision precision = ParsePrecision(options);
  // Train mode: batch statistics, running-statistic updates and dropout, as one training forward.
  const bool train = options.Bool("train", false);
  if (static_cast<int64_t>(targets.size()) != input.shape[0]) {
    ThrowRangeError(env, "Expected " + std::to_string(input.shape[0]) + " targets (one per input) for lossAndGrads options.targets but received " +
                             std::to_string(targets.size()));
  }
  for (int64_t t : targets) {
    if (t < 0 || t >= handle.module->num_classes()) {
      ThrowRangeError(env, "Expected targets from 0 to " + std::to_string(handle.module->num_classes() - 1) +
                               " for lossAndGrads options.targets but received " + std::to_string(t));
    }
  }
  AsyncCall<LossResult> call(env, handle.device);
  call.Keep(info[0]);
  return call.Run(
      [=] {
        TrainingModeGuard mode(*handle.module, train);
        at::AutoGradMode grad_mode(true);
        auto params = handle.module->named_parameters();
        std::vector<at::Tensor> saved;  // the caller's accumulated gradients, restored afterwards
        for (auto& p : params) {
          saved.push_back(p.value().grad());
          p.value().mutable_grad() = at::Tensor();
        }
        auto x = FloatInputToDevice(input, handle.device).requires_grad_(true);
        auto target = at::tensor(targets, at::TensorOptions().dtype(at::kLong)).to(handle.device);
        at::Tensor loss, logits;
        {
          // Autocast covers the forward only; backward runs outside it, as in training.
          compat::AutocastGuard autocast(handle.device.type(), precision.dtype, precision.autocast);
          logits = handle.module->forward(x);
          loss = at::cross_entropy_loss(logits, target);
        }
        loss.backward();
        LossResult result;
        result.loss = loss.item<double>();
        result.logits = ToHostFloat(logits.detach());
        size_t i = 0;
        for (auto& p : params) {
          if (p.value().grad().defined()) result.grads.emplace_back(p.key(), ToHostFloat(p.value().grad()));
          p.value().mutable_grad() = saved[i++];
        }
        result.grad_input = ToHostFloat(x.grad());
        return result;
      },
      [](Napi::Env env, LossResult& result) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("loss", result.loss);
        out.Set("logits", HostTensorToJs(env, result.logits));
        out.Set("grads", NamedToJs(env, result.grads));
        out.Set("gradInput", HostTensorToJs(env, result.grad_input));
        return out;
      });
}

}  // namespace foldtorch::bridge
