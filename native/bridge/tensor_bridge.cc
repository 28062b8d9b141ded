// Image batches into tensors and tensors back into typed arrays.
#include "bridge/tensor_bridge.h"

#include <ATen/ATen.h>

#include "bridge/errors.h"
#include "bridge/options.h"
#include "compat.h"

namespace foldtorch::bridge {

ImageBatch ReadImageBatch(Napi::Env env, Napi::Value buffer, const std::vector<int64_t>& shape, const std::string& argument) {
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
                             std::to_string(shape[1]) + "x" + std::to_string(shape[2]) + "x" + std::to_string(shape[3]) +
                             ") for " + argument + " but received " + std::to_string(length));
  }
  return {data, shape[0], shape[1], shape[2], shape[3]};
}

void CheckNormalization(Napi::Env env, const Normalization& norm, int64_t channels, const std::string& argument) {
  if (static_cast<int64_t>(norm.mean.size()) != channels || static_cast<int64_t>(norm.std.size()) != channels) {
    ThrowRangeError(env, "Expected mean and std of length " + std::to_string(channels) + " for " + argument +
                             " but received " + std::to_string(norm.mean.size()) + " and " + std::to_string(norm.std.size()));
  }
  for (double s : norm.std) {
    if (!(s > 0)) ThrowRangeError(env, "Expected positive std values for " + argument + " but received " + std::to_string(s));
  }
}

namespace {

// An optional Float32Array of `per_image` values per image (`what`, for the error) into `out`; `rgb_channels`:
// the images must have 3 channels (colour operations).
void ReadPerImageValues(Napi::Env env, Napi::Value value, int64_t batch, int64_t per_image, const char* name, const char* what,
                        int64_t rgb_channels, std::vector<float>& out) {
  if (value.IsUndefined() || value.IsNull()) return;
  if (rgb_channels > 0 && rgb_channels != 3) {
    ThrowRangeError(env, std::string("Expected RGB images (3 channels) for ") + name + " but received " + std::to_string(rgb_channels) + " channels");
  }
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    ThrowTypeError(env, std::string("Expected a Float32Array for ") + name + " but received " + DescribeValue(value));
  }
  auto values = value.As<Napi::Float32Array>();
  if (static_cast<int64_t>(values.ElementLength()) != batch * per_image) {
    ThrowRangeError(env, "Expected " + std::to_string(batch * per_image) + " values (" + what + ") for " + name + " but received " +
                             std::to_string(values.ElementLength()));
  }
  out.assign(values.Data(), values.Data() + values.ElementLength());
}

// Per-image values as a [batch, 1, 1, 1] tensor on x's device, to scale whole images.
at::Tensor PerImage(const at::Tensor& x, const std::vector<float>& values) {
  return at::from_blob(const_cast<float*>(values.data()), {x.size(0), 1, 1, 1}, at::kFloat).to(x.device());
}

// How strongly each pixel lies on a colour boundary, in [0, 1]: the Sobel magnitude of luma (a unit step gives
// 1), ramped from 0.1 to 0.3. Replicated borders, so the frame itself never reads as an edge.
at::Tensor BoundaryStrength(const at::Tensor& x) {
  const auto options = x.options();
  const auto luma_weights = at::tensor({0.299f, 0.587f, 0.114f}, options).view({1, 3, 1, 1});
  const auto luma = (x * luma_weights).sum(1, true);
  const auto sobel_x = at::tensor({-1.f, 0.f, 1.f, -2.f, 0.f, 2.f, -1.f, 0.f, 1.f}, options).view({1, 1, 3, 3}) / 4.0f;
  const auto kernels = at::cat({sobel_x, sobel_x.transpose(2, 3)}, 0);
  const auto gradients = at::conv2d(at::replication_pad2d(luma, {1, 1, 1, 1}), kernels);
  return ((gradients.pow(2).sum(1, true).sqrt() - 0.1f) / 0.2f).clamp_(0.0f, 1.0f);
}

// The outlined and faded styles: colours blended toward white by the fade amount, then darkened by
// strength * boundary, with boundaries found before fading so a faded image keeps its full outlines.
at::Tensor RestyleFillsAndOutlines(const at::Tensor& x, const std::vector<float>& outline_strengths, const std::vector<float>& fade_amounts) {
  at::Tensor boundary;
  if (!outline_strengths.empty()) boundary = BoundaryStrength(x);
  auto y = x;
  if (!fade_amounts.empty()) y = 1.0f - (1.0f - y) * (1.0f - PerImage(x, fade_amounts));
  if (!outline_strengths.empty()) y = y * (1.0f - PerImage(x, outline_strengths) * boundary);
  return y;
}

}  // namespace

void ReadColorMatrices(Napi::Env env, Napi::Value value, int64_t batch, int64_t channels, Normalization& norm) {
  ReadPerImageValues(env, value, batch, 9, "colorMatrices", "a 3x3 matrix per RGB image", channels, norm.color_matrices);
}

void ReadAffineMatrices(Napi::Env env, Napi::Value value, int64_t batch, Normalization& norm) {
  ReadPerImageValues(env, value, batch, 6, "affineMatrices", "a 2x3 matrix per image", 0, norm.affine_matrices);
}

void ReadOutlineStrengths(Napi::Env env, Napi::Value value, int64_t batch, int64_t channels, Normalization& norm) {
  ReadPerImageValues(env, value, batch, 1, "outlineStrengths", "one per image", channels, norm.outline_strengths);
}

void ReadFadeAmounts(Napi::Env env, Napi::Value value, int64_t batch, Normalization& norm) {
  ReadPerImageValues(env, value, batch, 1, "fadeAmounts", "one per image", 0, norm.fade_amounts);
}

at::Tensor ImagesToTensor(const ImageBatch& images, const Normalization& norm, const c10::Device& device, bool channels_last) {
  auto host = at::from_blob(const_cast<uint8_t*>(images.data), {images.batch, images.height, images.width, images.channels},
                            at::TensorOptions().dtype(at::kByte));
  at::Tensor pixels;
  if (device.is_cuda()) {
    // uint8 crosses the bus (4x less than float); pinned memory lets the copy run asynchronously.
    pixels = host.pin_memory().to(device, /*non_blocking=*/true);
  } else {
    pixels = host;
  }
  const auto float_options = at::TensorOptions().dtype(at::kFloat).device(device);
  auto mean = at::tensor(std::vector<float>(norm.mean.begin(), norm.mean.end()), at::TensorOptions().dtype(at::kFloat))
                  .to(device).view({1, -1, 1, 1});
  auto std = at::tensor(std::vector<float>(norm.std.begin(), norm.std.end()), at::TensorOptions().dtype(at::kFloat))
                 .to(device).view({1, -1, 1, 1});
  // NHWC → NCHW view; its strides are exactly channels_last.
  auto x = pixels.permute({0, 3, 1, 2}).to(float_options);
  x = x.div_(255.0f);
  if (!norm.color_matrices.empty()) {
    auto matrices = at::from_blob(const_cast<float*>(norm.color_matrices.data()), {images.batch, 3, 3}, at::kFloat).to(device);
    x = at::bmm(matrices, x.reshape({images.batch, 3, -1})).view_as(x).clamp_(0.0f, 1.0f);
  }
  if (!norm.outline_strengths.empty() || !norm.fade_amounts.empty()) {
    x = RestyleFillsAndOutlines(x, norm.outline_strengths, norm.fade_amounts);
  }
  if (!norm.affine_matrices.empty()) {
    auto theta = at::from_blob(const_cast<float*>(norm.affine_matrices.data()), {images.batch, 2, 3}, at::kFloat).to(device);
    auto grid = at::affine_grid_generator(theta, x.sizes(), /*align_corners=*/false);
    // Sample the inverted image so zero padding becomes white after inverting back.
    x = 1.0f - at::grid_sampler(1.0f - x.contiguous(), grid, /*bilinear*/ 0, /*zeros*/ 0, /*align_corners=*/false);
  }
  x = x.sub_(mean).div_(std);
  return channels_last ? x.contiguous(at::MemoryFormat::ChannelsLast) : x.contiguous();
}

at::Tensor ToHostFloat(const at::Tensor& tensor) {
  auto host = tensor.detach().to(at::TensorOptions().dtype(at::kFloat).device(at::kCPU)).contiguous();
  // A view of the caller's own storage could change under JS; hand over a private copy when it aliases.
  if (host.data_ptr() == tensor.data_ptr()) host = host.clone();
  return host;
}

Napi::Object HostTensorToJs(Napi::Env env, const at::Tensor& host_float) {
  Napi::Array shape = Napi::Array::New(env, host_float.dim());
  for (int64_t i = 0; i < host_float.dim(); ++i) shape.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(host_float.size(i))));
  const size_t count = static_cast<size_t>(host_float.numel());
  auto* owner = new at::Tensor(host_float);
  Napi::ArrayBuffer storage = Napi::ArrayBuffer::New(
      env, owner->data_ptr<float>(), count * sizeof(float),
      [](Napi::Env, void*, at::Tensor* held) { delete held; }, owner);
  Napi::Object result = Napi::Object::New(env);
  result.Set("shape", shape);
  result.Set("data", Napi::Float32Array::New(env, count, storage, 0));
  return result;
}

}  // namespace foldtorch::bridge
