// reset_linear and set_weights_channels_last.
#include "models/layers/classifier.h"

#include <ATen/ATen.h>

namespace foldtorch::layers {

torch::nn::Linear reset_linear(torch::nn::Module& parent, const std::string& name, const torch::nn::Linear& current,
                               int64_t in_features, int64_t num_classes) {
  if (num_classes == 0) {
    if (current) parent.unregister_module(name);
    return torch::nn::Linear(nullptr);
  }
  auto fresh = torch::nn::Linear(in_features, num_classes);
  if (!current) return parent.register_module(name, fresh);
  fresh->to(current->weight.device(), current->weight.scalar_type());
  return parent.replace_module(name, fresh);
}

void set_weights_channels_last(torch::nn::Module& module, bool enable) {
  at::NoGradGuard no_grad;
  const auto format = enable ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  for (auto& p : module.parameters()) {
    if (p.dim() == 4) p.set_data(p.contiguous(format));
  }
}

}  // namespace foldtorch::layers
