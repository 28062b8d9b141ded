#include "train/batch_transform.h"

#include <ATen/ATen.h>

namespace foldtorch::train {

namespace {

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
at::Tensor RestyleFillsAndOutlines(const at::Tensor& x, const std::vector<float>& outline_strengths,
                                   const std::vector<float>& fade_amounts) {
  at::Tensor boundary;
  if (!outline_strengths.empty()) boundary = BoundaryStrength(x);
  auto y = x;
  if (!fade_amounts.empty()) y = 1.0f - (1.0f - y) * (1.0f - PerImage(x, fade_amounts));
  if (!outline_strengths.empty()) y = y * (1.0f - PerImage(x, outline_strengths) * boundary);
  return y;
}

}  // namespace

at::Tensor TransformBatch(const PixelBatch& images, const BatchTransform& transform, const c10::Device& device,
                          bool channels_last) {
  const auto& augment = transform.augment;
  auto host =
      at::from_blob(const_cast<uint8_t*>(images.data), {images.batch, images.height, images.width, images.channels},
                    at::TensorOptions().dtype(at::kByte));
  at::Tensor pixels;
  if (device.is_cuda()) {
    // uint8 crosses the bus (4x less than float); pinned memory lets the copy run asynchronously.
    pixels = host.pin_memory().to(device, /*non_blocking=*/true);
  } else {
    pixels = host;
  }
  const auto float_options = at::TensorOptions().dtype(at::kFloat).device(device);
  auto mean = at::tensor(std::vector<float>(transform.mean.begin(), transform.mean.end()),
                         at::TensorOptions().dtype(at::kFloat))
                  .to(device)
                  .view({1, -1, 1, 1});
  auto std =
      at::tensor(std::vector<float>(transform.std.begin(), transform.std.end()), at::TensorOptions().dtype(at::kFloat))
          .to(device)
          .view({1, -1, 1, 1});
  // NHWC → NCHW view; its strides are exactly channels_last.
  auto x = pixels.permute({0, 3, 1, 2}).to(float_options);
  x = x.div_(255.0f);
  if (!augment.color_matrices.empty()) {
    auto matrices =
        at::from_blob(const_cast<float*>(augment.color_matrices.data()), {images.batch, 3, 3}, at::kFloat).to(device);
    x = at::bmm(matrices, x.reshape({images.batch, 3, -1})).view_as(x).clamp_(0.0f, 1.0f);
  }
  if (!augment.outline_strengths.empty() || !augment.fade_amounts.empty()) {
    x = RestyleFillsAndOutlines(x, augment.outline_strengths, augment.fade_amounts);
  }
  if (!augment.affine_matrices.empty()) {
    auto theta =
        at::from_blob(const_cast<float*>(augment.affine_matrices.data()), {images.batch, 2, 3}, at::kFloat).to(device);
    auto grid = at::affine_grid_generator(theta, x.sizes(), /*align_corners=*/false);
    // Sample the inverted image so zero padding becomes white after inverting back.
    x = 1.0f - at::grid_sampler(1.0f - x.contiguous(), grid, /*bilinear*/ 0, /*zeros*/ 0, /*align_corners=*/false);
  }
  x = x.sub_(mean).div_(std);
  return channels_last ? x.contiguous(at::MemoryFormat::ChannelsLast) : x.contiguous();
}

}  // namespace foldtorch::train
