// Conv2dSame: static symmetric padding at stride 1 (k - 1 is even for odd k), padding from the input size otherwise.
#include "models/layers/conv2d_same.h"

#include <ATen/ATen.h>

#include "models/layers/depthwise_conv_cpu.h"

namespace foldtorch::layers {

std::array<int64_t, 2> same_padding(int64_t in, int64_t kernel, int64_t stride, int64_t dilation) {
  const int64_t out = (in + stride - 1) / stride;
  const int64_t pad = std::max<int64_t>((out - 1) * stride + (kernel - 1) * dilation + 1 - in, 0);
  return {pad / 2, pad - pad / 2};
}

Conv2dSameImpl::Conv2dSameImpl(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride,
                               int64_t groups)
    : kernel_(kernel), stride_(stride), groups_(groups) {
  TORCH_CHECK(in_channels % groups == 0 && out_channels % groups == 0, "conv2d_same: channels ", in_channels, " -> ",
              out_channels, " are not divisible by groups ", groups);
  weight = register_parameter("weight", at::empty({out_channels, in_channels / groups, kernel, kernel}));
}

torch::Tensor Conv2dSameImpl::forward_with(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& bias) {
  const auto rows = same_padding(x.size(2), kernel_, stride_);
  const auto cols = same_padding(x.size(3), kernel_, stride_);
  // Our backward reads x with the padding's offsets: no pad gradient to copy back.
  if (depthwise_conv_train_applies(x, w, bias, groups_))
    return depthwise_conv2d_train(x, w, bias, stride_, {rows[0], rows[1], cols[0], cols[1]});
  if (stride_ == 1 && kernel_ % 2 == 1) {
    // SAME at stride 1 is the symmetric k/2 on every size: let the convolution pad (no extra copy).
    return at::conv2d(x, w, bias, at::IntArrayRef{1}, at::IntArrayRef{kernel_ / 2}, at::IntArrayRef{1}, groups_);
  }
  auto padded = x;
  if (rows[0] || rows[1] || cols[0] || cols[1]) {
    padded = at::constant_pad_nd(x, {cols[0], cols[1], rows[0], rows[1]}, 0);
    // The pad's output is NCHW-contiguous: keep a channels-last network channels-last.
    if (x.is_contiguous(at::MemoryFormat::ChannelsLast) && !x.is_contiguous())
      padded = padded.contiguous(at::MemoryFormat::ChannelsLast);
  }
  return at::conv2d(padded, w, bias, at::IntArrayRef{stride_}, at::IntArrayRef{0}, at::IntArrayRef{1}, groups_);
}

}  // namespace foldtorch::layers
