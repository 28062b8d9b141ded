// The model's forward calls as JS makes them: uint8 image batches, TTA views, float input with intermediates
// and loss + gradients for parity. Arguments are read here; native/train/model_eval computes.
#include <ATen/ATen.h>

#include <optional>

#include "bridge/compute_thread.h"
#include "bridge/errors.h"
#include "bridge/model_state.h"
#include "bridge/options.h"
#include "bridge/tensor_bridge.h"
#include "compat.h"
#include "models/grad_cam.h"
#include "train/model_eval.h"

namespace foldtorch::bridge {

namespace {

train::EvalPrecision ParsePrecision(const OptionReader& options) {
  const train::Precision precision = ReadPrecision(options);
  return {precision != train::Precision::kFp32, train::PrecisionDtype(precision)};
}

// The model's own mean and std unless the call gives others; no augmentations at inference.
train::BatchTransform ParseNormalization(const OptionReader& options, const ClassifierImpl& model, int64_t channels) {
  const auto& cfg = model.pretrained_config();
  return ReadNormalization(options.env(), options.Has("mean") ? options.NumberArray("mean") : cfg.mean,
                           options.Has("std") ? options.NumberArray("std") : cfg.std, channels, "forward options");
}

std::vector<train::TtaView> ParseViews(const OptionReader& options) {
  Napi::Value raw = options.Raw("views");
  if (!raw.IsArray() || raw.As<Napi::Array>().Length() == 0) {
    ThrowTypeError(options.env(),
                   "Expected a non-empty array of {hflip, vflip, rot} for forwardViews options.views but received " +
                       DescribeValue(raw));
  }
  std::vector<train::TtaView> views;
  auto array = raw.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); ++i) {
    OptionReader view(options.env(), array.Get(i), "forwardViews options.views[i]");
    train::TtaView v{view.Bool("hflip", false), view.Bool("vflip", false), view.Integer("rot", 0)};
    if (v.rot < 0 || v.rot > 3)
      ThrowRangeError(options.env(), "Expected an integer from 0 to 3 for views[" + std::to_string(i) +
                                         "].rot but received " + std::to_string(v.rot));
    views.push_back(v);
  }
  return views;
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
    ThrowRangeError(env, "Expected a [batch, channels, height, width] shape matching " +
                             std::to_string(array.ElementLength()) + " values for input but received " +
                             std::to_string(input.shape.size()) + " dimensions holding " + std::to_string(count));
  }
  return input;
}

at::Tensor FloatInputToDevice(const FloatInput& input, const c10::Device& device) {
  return at::from_blob(const_cast<float*>(input.data), input.shape, at::TensorOptions().dtype(at::kFloat))
      .to(device, /*non_blocking=*/false, /*copy=*/true);
}

}  // namespace

namespace {

// What Forward and ForwardViews share: uint8 images, their normalisation, precision and layout.
struct ImageCall {
  ModelHandle handle;
  ImageBatch images;
  train::BatchTransform transform;
  train::EvalPrecision precision;
  bool channels_last = false;

  // On the compute thread: the normalised batch on the model's device.
  at::Tensor Images() const { return train::TransformBatch(images, transform, handle.device, channels_last); }
};

ImageCall ReadImageCall(Napi::Env env, const Napi::CallbackInfo& info, const OptionReader& options, ModelHandle handle,
                        bool channels_last) {
  ImageBatch images = ReadImageBatch(env, info[0], options.IntegerArray("shape"), "images");
  return {handle, images, ParseNormalization(options, *handle.module, images.channels), ParsePrecision(options),
          channels_last};
}

}  // namespace

Napi::Value ModelWrap::Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OptionReader options(env, info[1], "forward options");
  const ImageCall image_call = ReadImageCall(env, info, options, Live(env), state_->channels_last);
  const bool pre_logits = options.String("output", "logits") == "preLogits";
  AsyncCall<at::Tensor> call(env, image_call.handle.device, "running a forward pass");
  call.Keep(info[0]);
  return call.Run(
      [=] {
        return ToHostFloat(
            train::ForwardLogits(*image_call.handle.module, image_call.Images(), pre_logits, image_call.precision));
      },
      [](Napi::Env env, at::Tensor& out) -> Napi::Value { return HostTensorToJs(env, out); });
}

Napi::Value ModelWrap::ForwardViews(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OptionReader options(env, info[1], "forwardViews options");
  const ImageCall image_call = ReadImageCall(env, info, options, Live(env), state_->channels_last);
  const std::vector<train::TtaView> views = ParseViews(options);
  AsyncCall<at::Tensor> call(env, image_call.handle.device, "running a forward pass");
  call.Keep(info[0]);
  return call.Run(
      [=] {
        return ToHostFloat(train::ForwardViews(*image_call.handle.module, image_call.Images(), views,
                                               image_call.channels_last, image_call.precision));
      },
      [](Napi::Env env, at::Tensor& out) -> Napi::Value { return HostTensorToJs(env, out); });
}

Napi::Value ModelWrap::ForwardFloat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModelHandle handle = Live(env);
  OptionReader options(env, info[1], "forwardFloat options");
  const FloatInput input = ReadFloatInput(env, info[0], options);
  const train::EvalPrecision precision = ParsePrecision(options);
  const bool intermediates = options.Bool("intermediates", false);
  const std::string attention = options.String("attention", "sdpa");
  if (attention != "sdpa" && attention != "explicit") {
    ThrowRangeError(
        env, "Expected \"sdpa\" or \"explicit\" for forwardFloat options.attention but received \"" + attention + "\"");
  }
  AsyncCall<NamedOutputs> call(env, handle.device, "running a forward pass");
  call.Keep(info[0]);
  return call.Run(
      [=] {
        auto x = FloatInputToDevice(input, handle.device);
        NamedOutputs host;
        for (auto& [name, tensor] :
             train::ForwardOutputs(*handle.module, x, intermediates, attention == "sdpa", precision)) {
          host.emplace_back(name, ToHostFloat(tensor));
        }
        return host;
      },
      [](Napi::Env env, NamedOutputs& outputs) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        NamedOutputs rest;
        for (auto& [name, tensor] : outputs) {
          if (name == "logits")
            out.Set("logits", HostTensorToJs(env, tensor));
          else if (name == "pre_logits")
            out.Set("preLogits", HostTensorToJs(env, tensor));
          else if (name == "features")
            out.Set("features", HostTensorToJs(env, tensor));
          else
            rest.emplace_back(name, tensor);
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
    ThrowRangeError(env, "Expected a class from 0 to " + std::to_string(classes - 1) +
                             " for gradCam options.target but received " + std::to_string(target));
  }
  AsyncCall<GradCamResult> call(env, image_call.handle.device, "computing Grad-CAM");
  call.Keep(info[0]);
  return call.Run(
      [=] {
        GradCamResult result = foldtorch::GradCam(*image_call.handle.module, image_call.Images(), target);
        return GradCamResult{ToHostFloat(result.cam), ToHostFloat(result.logits)};
      },
      [](Napi::Env env, GradCamResult& result) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("cam", HostTensorToJs(env, result.cam));
        out.Set("logits", HostTensorToJs(env, result.logits));
        return out;
      });
}

Napi::Value ModelWrap::LossAndGrads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModelHandle handle = Live(env);
  OptionReader options(env, info[1], "lossAndGrads options");
  const FloatInput input = ReadFloatInput(env, info[0], options);
  const std::vector<int64_t> targets = options.IntegerArray("targets");
  const train::EvalPrecision precision = ParsePrecision(options);
  // Train mode: batch statistics, running-statistic updates and dropout, as one training forward.
  const bool train = options.Bool("train", false);
  if (static_cast<int64_t>(targets.size()) != input.shape[0]) {
    ThrowRangeError(env, "Expected " + std::to_string(input.shape[0]) +
                             " targets (one per input) for lossAndGrads options.targets but received " +
                             std::to_string(targets.size()));
  }
  for (int64_t t : targets) {
    if (t < 0 || t >= handle.module->num_classes()) {
      ThrowRangeError(env, "Expected targets from 0 to " + std::to_string(handle.module->num_classes() - 1) +
                               " for lossAndGrads options.targets but received " + std::to_string(t));
    }
  }
  AsyncCall<train::LossAndGradients> call(env, handle.device, "computing the loss and gradients");
  call.Keep(info[0]);
  return call.Run(
      [=] {
        auto x = FloatInputToDevice(input, handle.device);
        auto target = at::tensor(targets, at::TensorOptions().dtype(at::kLong)).to(handle.device);
        auto result = train::ComputeLossAndGradients(*handle.module, x, target, train, precision);
        result.logits = ToHostFloat(result.logits);
        for (auto& [name, grad] : result.grads) grad = ToHostFloat(grad);
        result.grad_input = ToHostFloat(result.grad_input);
        return result;
      },
      [](Napi::Env env, train::LossAndGradients& result) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("loss", result.loss);
        out.Set("logits", HostTensorToJs(env, result.logits));
        out.Set("grads", NamedToJs(env, result.grads));
        out.Set("gradInput", HostTensorToJs(env, result.grad_input));
        return out;
      });
}

}  // namespace foldtorch::bridge
