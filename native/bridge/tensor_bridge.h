// The tensor bridge: uint8 NHWC image batches in Buffers → normalised float32 NCHW tensors on a device, and
// tensors → Float32Arrays back.
#pragma once

#include <napi.h>

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <string>
#include <vector>

namespace foldtorch::bridge {

// A view of a JS Buffer holding [batch, height, width, channels] uint8 pixels; the Buffer is kept alive by the
// AsyncCall that uses it.
struct ImageBatch {
  const uint8_t* data = nullptr;
  int64_t batch = 0, height = 0, width = 0, channels = 0;
};

struct Normalization {
  std::vector<double> mean;
  std::vector<double> std;
  // Optional per-image 3x3 colour matrices (row-major, batch*9 values) applied to RGB in [0, 1] before
  // normalising: greyscale and hue rotation as style-breaking augmentations, batched on the device.
  std::vector<float> color_matrices;
  // Optional per-image 2x3 affine matrices (batch*6, affine_grid's normalised convention) for scale, shift and
  // rotation jitter; uncovered pixels become white, like the datasets' backgrounds.
  std::vector<float> affine_matrices;
  // Optional per-image outline strengths in [0, 1] (batch values): dark lines drawn along colour boundaries, as
  // outlined art styles have them, after the colour matrices and before the affine jitter.
  std::vector<float> outline_strengths;
  // Optional per-image fade amounts in [0, 1] (batch values): colours blended toward white, as pale flat-filled
  // art styles look; the outlines are found on the unfaded colours and drawn over the faded ones.
  std::vector<float> fade_amounts;
};

// Validates buffer length against shape (and mean/std against channels); throws JS TypeError/RangeError
// naming `argument`.
ImageBatch ReadImageBatch(Napi::Env env, Napi::Value buffer, const std::vector<int64_t>& shape, const std::string& argument);
void CheckNormalization(Napi::Env env, const Normalization& norm, int64_t channels, const std::string& argument);
// Reads options.colorMatrices (a Float32Array of batch*9) into norm when present.
void ReadColorMatrices(Napi::Env env, Napi::Value value, int64_t batch, int64_t channels, Normalization& norm);
// Reads options.affineMatrices (a Float32Array of batch*6) into norm when present.
void ReadAffineMatrices(Napi::Env env, Napi::Value value, int64_t batch, Normalization& norm);
// Reads options.outlineStrengths (a Float32Array of batch values) into norm when present.
void ReadOutlineStrengths(Napi::Env env, Napi::Value value, int64_t batch, int64_t channels, Normalization& norm);
// Reads options.fadeAmounts (a Float32Array of batch values) into norm when present.
void ReadFadeAmounts(Napi::Env env, Napi::Value value, int64_t batch, Normalization& norm);

// Runs on a compute thread: upload (pinned + non-blocking on CUDA) as uint8, then convert and normalise on the
// device: (x/255 − mean)/std. channels_last keeps the NHWC memory layout (faster for convolutions).
at::Tensor ImagesToTensor(const ImageBatch& images, const Normalization& norm, const c10::Device& device, bool channels_last);

// Runs on a compute thread: a contiguous float32 CPU copy, ready to hand to JS without another copy.
at::Tensor ToHostFloat(const at::Tensor& tensor);

// On the JS thread: { shape: number[], data: Float32Array } sharing the host tensor's memory.
Napi::Object HostTensorToJs(Napi::Env env, const at::Tensor& host_float);

}  // namespace foldtorch::bridge
