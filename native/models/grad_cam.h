// Grad-CAM (Selvaraju et al.): where a classifier looked for one class, from its last feature map and the gradient
// of that class's logit, computed through the model's own backward path.
#pragma once

#include <torch/types.h>

#include "models/model.h"

namespace foldtorch {

struct GradCamResult {
  torch::Tensor cam;  // [B, h, w] float in [0, 1]: ReLU(Σ_c mean_hw(∂logit/∂A_c) · A_c), divided by its maximum
  torch::Tensor logits;  // [B, classes] float, from the same forward
};

// Runs `images` (normalised [B, 3, H, W] on the model's device) in eval mode with gradients on and returns the map for
// class `target` of every image. The model's mode and its parameters' gradients are left as they were.
GradCamResult GradCam(ClassifierImpl& model, const torch::Tensor& images, int64_t target);

}  // namespace foldtorch
