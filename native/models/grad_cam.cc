// Grad-CAM over ClassifierImpl::activation_map: weights are the spatial means of the target logit's gradient.
#include "models/grad_cam.h"

#include <torch/autograd.h>

namespace foldtorch {

GradCamResult GradCam(ClassifierImpl& model, const torch::Tensor& images, int64_t target) {
  TORCH_CHECK_VALUE(target >= 0 && target < model.num_classes(), "gradCam: target class out of range (got ", target,
                    " for ", model.num_classes(), " classes)");
  TrainingModeGuard eval(model, false);
  torch::AutoGradMode grad_mode(true);
  // The input asks for gradients so a graph exists even when every parameter is frozen; only ∂logit/∂features
  // is computed (autograd::grad), so no parameter's .grad is touched.
  auto x = images.detach().requires_grad_(true);
  auto features = model.forward_features(x);
  auto logits = model.forward_head(features);
  auto grads = torch::autograd::grad({logits.select(1, target).sum()}, {features})[0];
  auto activations = model.activation_map(features.detach()).to(torch::kFloat);
  auto weights = model.activation_map(grads).to(torch::kFloat).mean({2, 3}, /*keepdim=*/true);
  auto cam = torch::relu((weights * activations).sum(1));
  // Per image: divided by its maximum (an all-zero map stays zero).
  auto peak = std::get<0>(cam.flatten(1).max(1)).clamp_min(1e-12).view({-1, 1, 1});
  return {(cam / peak).detach(), logits.detach().to(torch::kFloat)};
}

}  // namespace foldtorch
