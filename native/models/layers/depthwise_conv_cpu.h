// Training-mode depthwise convolution on the CPU for channels-last float32 or bfloat16 (autocast) tensors: ATen's
// forward (oneDNN's depthwise kernel), our own backward. oneDNN (as pip torch 2.13 ships it) has no depthwise kernel
// for bfloat16 weight gradients of 5×5 filters nor for strided bfloat16 input gradients, and falls back to generic
// grouped-convolution kernels: 11-37 ms for one layer's backward at 128 px where the depthwise kernels take 0.1-2 ms,
// half of an EfficientNet-Lite0 bf16 training step (ConvNeXt's 7×7 ones are slow in float32 too).
// at::conv2d's gradients, with one difference under bf16 autocast: the weight and bias gradients are summed in float
// and returned unrounded, where ATen's come back rounded to bf16 (the input gradient uses the bf16-rounded weight, as
// ATen's). The backward is not itself differentiable (no double backward). FOLDTORCH_DEPTHWISE_BACKWARD=aten in the
// environment at load sends every convolution back to ATen's conv2d.
#pragma once

#include <ATen/Tensor.h>

namespace foldtorch::layers {

// Whether the path is on (FOLDTORCH_DEPTHWISE_BACKWARD at load; tests switch it to compare with ATen).
bool depthwise_backward_enabled();
void set_depthwise_backward_enabled(bool enabled);

// Whether the training path takes this convolution: switched on, under grad mode with something to differentiate,
// depthwise (groups == input channels == output channels, one filter per channel), a 4-D float32 or bfloat16 CPU
// input in channels-last layout, square kernel, a bias of one value per channel or none, the weight and bias in the
// input's dtype unless autocast casts them. Dilation is 1: callers pass only undilated convolutions. Anything else
// keeps ATen's conv2d.
bool depthwise_conv_train_applies(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                  int64_t groups);

// Zero padding of the input's rows (top, bottom) and columns (left, right); TF "SAME" pads unevenly.
struct DepthwisePadding {
  int64_t top, bottom, left, right;
  static DepthwisePadding Even(int64_t pad) { return {pad, pad, pad, pad}; }
};

// conv2d(x zero-padded, weight, bias, stride, groups = channels) with our backward; `bias` may be undefined. Under
// CPU autocast the input, weight and bias are cast to the autocast dtype first, as at::conv2d's autocast rule does.
at::Tensor depthwise_conv2d_train(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t stride,
                                  const DepthwisePadding& padding);

}  // namespace foldtorch::layers
