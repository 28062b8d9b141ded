// The input check every family shares, driven by the rules each model states (input_rules()).
#include "models/model.h"

#include <c10/util/Exception.h>

#include <sstream>

namespace foldtorch {

void ClassifierImpl::check_input(const torch::Tensor& images) const {
  const InputRules rules = input_rules();
  constexpr int64_t kChannels = 3;
  bool fits = images.dim() == 4 && images.size(1) == kChannels;
  if (fits && rules.fixed_size) {
    fits = images.size(2) == rules.size.height && images.size(3) == rules.size.width;
  } else if (fits) {
    fits = images.size(2) >= rules.min_size && images.size(3) >= rules.min_size &&
           images.size(2) % rules.size_multiple == 0 && images.size(3) % rules.size_multiple == 0;
  }
  if (fits) return;
  std::ostringstream expected, got;
  got << images.sizes();
  if (rules.fixed_size) {
    expected << "[B, " << kChannels << ", " << rules.size.height << ", " << rules.size.width << "]";
  } else {
    expected << "[B, " << kChannels << ", H, W] with H, W >= " << rules.min_size;
    if (rules.size_multiple > 1) expected << " and multiples of " << rules.size_multiple;
  }
  TORCH_CHECK_VALUE(false, family(), ": expected input of shape ", expected.str(), " (got ", got.str(), ")");
}

torch::Tensor ClassifierImpl::activation_map(const torch::Tensor& features) const {
  TORCH_CHECK_VALUE(features.dim() == 4, family(), ": Grad-CAM needs a [B, C, h, w] feature map (got ",
                    features.sizes(), ")");
  return features;
}

}  // namespace foldtorch
