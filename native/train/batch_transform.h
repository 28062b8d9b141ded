// One image batch into the model's input, in one place: uint8 NHWC pixels → float NCHW on the device, with the
// per-image style augmentations (colour matrices, outlines and fades, affine jitter) and the normalisation. The
// flips and quarter turns happen earlier, when each image is decoded (src/data/image.ts); TTA views later, on the
// normalised tensor (bridge/model_forward.cc). Adding a style augmentation: a field here, its kernel in
// TransformBatch, its reader in bridge/tensor_bridge.cc and its plan in src/data/batchPlan.ts.
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <vector>

namespace foldtorch::train {

// A view of [batch, height, width, channels] uint8 pixels owned by the caller.
struct PixelBatch {
  const uint8_t* data = nullptr;
  int64_t batch = 0, height = 0, width = 0, channels = 0;
};

// Per-image style augmentations; each is empty (off) or holds its values for every image of the batch.
struct BatchAugment {
  // 3x3 matrices (row-major, 9 per image) applied to RGB in [0, 1]: greyscale and hue rotation.
  std::vector<float> color_matrices;
  // Strengths in [0, 1] (1 per image): dark lines drawn along colour boundaries, as outlined art styles have them.
  std::vector<float> outline_strengths;
  // Amounts in [0, 1] (1 per image): colours blended toward white, as pale flat-filled styles look; outlines are
  // found on the unfaded colours and drawn over the faded ones.
  std::vector<float> fade_amounts;
  // 2x3 matrices (6 per image, affine_grid's normalised convention): scale, shift and rotation jitter; uncovered
  // pixels become white, like the datasets' backgrounds.
  std::vector<float> affine_matrices;
};

struct BatchTransform {
  std::vector<double> mean, std;  // one per channel
  BatchAugment augment;
};

// Upload (pinned and non-blocking on CUDA) as uint8, then on the device: x/255, colour matrices, fades and
// outlines, affine jitter, (x − mean)/std. channels_last keeps the NHWC memory layout (faster for convolutions).
at::Tensor TransformBatch(const PixelBatch& pixels, const BatchTransform& transform, const c10::Device& device,
                          bool channels_last);

}  // namespace foldtorch::train
