// The tensor bridge: image batches in Buffers and their transform options read from JS (the transform itself is
// native/train/batch_transform.h), and tensors → Float32Arrays back.
#pragma once

#include <napi.h>

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <string>
#include <utility>
#include <vector>

#include "train/batch_transform.h"

namespace foldtorch::bridge {

// A view of a JS Buffer holding [batch, height, width, channels] uint8 pixels; the Buffer is kept alive by the
// AsyncCall that uses it.
using ImageBatch = train::PixelBatch;

// Validates buffer length against shape; throws JS TypeError/RangeError naming `argument`.
ImageBatch ReadImageBatch(Napi::Env env, Napi::Value buffer, const std::vector<int64_t>& shape,
                          const std::string& argument);

// mean and std (one per channel, std > 0) as the transform's normalisation, without augmentations.
train::BatchTransform ReadNormalization(Napi::Env env, std::vector<double> mean, std::vector<double> std,
                                        int64_t channels, const std::string& argument);

// options.augment, the one object that carries a batch's style augmentations: { colorMatrices (9 per image),
// outlineStrengths, fadeAmounts (1 per image each), affineMatrices (6 per image) }, each a Float32Array and
// optional; undefined means none.
train::BatchAugment ReadBatchAugment(Napi::Env env, Napi::Value value, const ImageBatch& images,
                                     const std::string& argument);

// Class indices (labels, targets) from an Int32Array or a number[]; throws JS TypeError naming `argument`.
// Ranges are the caller's to check: it knows the number of classes.
std::vector<int64_t> ReadClassIndices(Napi::Env env, Napi::Value value, const std::string& argument);

// Runs on a compute thread: a contiguous float32 CPU copy, ready to hand to JS without another copy.
at::Tensor ToHostFloat(const at::Tensor& tensor);

// On the JS thread: { shape: number[], data: Float32Array } sharing the host tensor's memory.
Napi::Object HostTensorToJs(Napi::Env env, const at::Tensor& host_float);

// On the JS thread: { name: { shape, data } } for named host tensors, in their order.
Napi::Object NamedToJs(Napi::Env env, const std::vector<std::pair<std::string, at::Tensor>>& host_floats);

}  // namespace foldtorch::bridge
