// Image batches into tensors and tensors back into typed arrays.
#include "bridge/tensor_bridge.h"

#include <ATen/ATen.h>

#include "bridge/errors.h"
#include "bridge/options.h"
#include "compat.h"

namespace foldtorch::bridge {

ImageBatch ReadImageBatch(Napi::Env env, Napi::Value buffer, const std::vector<int64_t>& shape,
                          const std::string& argument) {
  if (!buffer.IsBuffer() && !buffer.IsTypedArray()) {
    ThrowTypeError(env, "Expected a Buffer or Uint8Array for " + argument + " but received " + DescribeValue(buffer));
  }
  if (shape.size() != 4) {
    ThrowRangeError(env, "Expected a shape [batch, height, width, channels] for " + argument + " but received " +
                             std::to_string(shape.size()) + " dimensions");
  }
  for (size_t i = 0; i < 4; ++i) {
    if (shape[i] <= 0) {
      static const char* kNames[] = {"batch", "height", "width", "channels"};
      ThrowRangeError(env, std::string("Expected a positive ") + kNames[i] + " for " + argument + " but received " +
                               std::to_string(shape[i]));
    }
  }
  const uint8_t* data = nullptr;
  size_t length = 0;
  if (buffer.IsBuffer()) {
    auto bytes = buffer.As<Napi::Buffer<uint8_t>>();
    data = bytes.Data();
    length = bytes.Length();
  } else {
    auto typed = buffer.As<Napi::TypedArray>();
    if (typed.TypedArrayType() != napi_uint8_array) {
      ThrowTypeError(env, "Expected a Buffer or Uint8Array for " + argument + " but received another typed array");
    }
    auto bytes = buffer.As<Napi::Uint8Array>();
    data = bytes.Data();
    length = bytes.ByteLength();
  }
  const int64_t expected = shape[0] * shape[1] * shape[2] * shape[3];
  if (static_cast<int64_t>(length) != expected) {
    ThrowRangeError(env, "Expected " + std::to_string(expected) + " bytes (" + std::to_string(shape[0]) + "x" +
                             std::to_string(shape[1]) + "x" + std::to_string(shape[2]) + "x" +
                             std::to_string(shape[3]) + ") for " + argument + " but received " +
                             std::to_string(length));
  }
  return {data, shape[0], shape[1], shape[2], shape[3]};
}

train::BatchTransform ReadNormalization(Napi::Env env, std::vector<double> mean, std::vector<double> std,
                                        int64_t channels, const std::string& argument) {
  if (static_cast<int64_t>(mean.size()) != channels || static_cast<int64_t>(std.size()) != channels) {
    ThrowRangeError(env, "Expected mean and std of length " + std::to_string(channels) + " for " + argument +
                             " but received " + std::to_string(mean.size()) + " and " + std::to_string(std.size()));
  }
  for (double s : std) {
    if (!(s > 0))
      ThrowRangeError(env, "Expected positive std values for " + argument + " but received " + std::to_string(s));
  }
  return {std::move(mean), std::move(std), {}};
}

namespace {

// An optional Float32Array of `per_image` values per image (`what`, for the error) into `out`; `needs_rgb`: the
// images must have 3 channels (colour operations).
void ReadPerImageValues(Napi::Env env, Napi::Value value, const ImageBatch& images, int64_t per_image,
                        const std::string& name, const char* what, bool needs_rgb, std::vector<float>& out) {
  if (value.IsUndefined() || value.IsNull()) return;
  if (needs_rgb && images.channels != 3) {
    ThrowRangeError(env, "Expected RGB images (3 channels) for " + name + " but received " +
                             std::to_string(images.channels) + " channels");
  }
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    ThrowTypeError(env, "Expected a Float32Array for " + name + " but received " + DescribeValue(value));
  }
  auto values = value.As<Napi::Float32Array>();
  if (static_cast<int64_t>(values.ElementLength()) != images.batch * per_image) {
    ThrowRangeError(env, "Expected " + std::to_string(images.batch * per_image) + " values (" + what + ") for " + name +
                             " but received " + std::to_string(values.ElementLength()));
  }
  out.assign(values.Data(), values.Data() + values.ElementLength());
}

}  // namespace

train::BatchAugment ReadBatchAugment(Napi::Env env, Napi::Value value, const ImageBatch& images,
                                     const std::string& argument) {
  train::BatchAugment augment;
  if (value.IsUndefined() || value.IsNull()) return augment;
  OptionReader options(env, value, argument.c_str());
  ReadPerImageValues(env, options.Raw("colorMatrices"), images, 9, argument + ".colorMatrices",
                     "a 3x3 matrix per RGB image", true, augment.color_matrices);
  ReadPerImageValues(env, options.Raw("outlineStrengths"), images, 1, argument + ".outlineStrengths", "one per image",
                     true, augment.outline_strengths);
  ReadPerImageValues(env, options.Raw("fadeAmounts"), images, 1, argument + ".fadeAmounts", "one per image", false,
                     augment.fade_amounts);
  ReadPerImageValues(env, options.Raw("affineMatrices"), images, 6, argument + ".affineMatrices",
                     "a 2x3 matrix per image", false, augment.affine_matrices);
  return augment;
}

std::vector<int64_t> ReadClassIndices(Napi::Env env, Napi::Value value, const std::string& argument) {
  std::vector<int64_t> out;
  if (value.IsTypedArray() && value.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
    auto array = value.As<Napi::Int32Array>();
    out.assign(array.Data(), array.Data() + array.ElementLength());
    return out;
  }
  if (!value.IsArray())
    ThrowTypeError(env, "Expected an Int32Array or number[] for " + argument + " but received " + DescribeValue(value));
  auto array = value.As<Napi::Array>();
  for (uint32_t i = 0; i < array.Length(); ++i) {
    Napi::Value item = array.Get(i);
    if (!item.IsNumber())
      ThrowTypeError(env, "Expected integers for " + argument + " but received " + DescribeValue(item));
    out.push_back(item.As<Napi::Number>().Int64Value());
  }
  return out;
}

at::Tensor ToHostFloat(const at::Tensor& tensor) {
  auto host = tensor.detach().to(at::TensorOptions().dtype(at::kFloat).device(at::kCPU)).contiguous();
  // A view of the caller's own storage could change under JS; hand over a private copy when it aliases.
  if (host.data_ptr() == tensor.data_ptr()) host = host.clone();
  return host;
}

Napi::Object HostTensorToJs(Napi::Env env, const at::Tensor& host_float) {
  Napi::Array shape = Napi::Array::New(env, host_float.dim());
  for (int64_t i = 0; i < host_float.dim(); ++i)
    shape.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(host_float.size(i))));
  const size_t count = static_cast<size_t>(host_float.numel());
  auto* owner = new at::Tensor(host_float);
  Napi::ArrayBuffer storage = Napi::ArrayBuffer::New(
      env, owner->data_ptr<float>(), count * sizeof(float), [](Napi::Env, void*, at::Tensor* held) { delete held; },
      owner);
  Napi::Object result = Napi::Object::New(env);
  result.Set("shape", shape);
  result.Set("data", Napi::Float32Array::New(env, count, storage, 0));
  return result;
}

Napi::Object NamedToJs(Napi::Env env, const std::vector<std::pair<std::string, at::Tensor>>& host_floats) {
  Napi::Object out = Napi::Object::New(env);
  for (const auto& [name, tensor] : host_floats) out.Set(name, HostTensorToJs(env, tensor));
  return out;
}

}  // namespace foldtorch::bridge
