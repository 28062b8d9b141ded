// What every family's classifier and convolution weights share: timm's reset_classifier (a fresh nn.Linear with
// PyTorch's default initialisation) and switching 4-D weights to channels-last.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <string>

namespace foldtorch::layers {

// `parent`'s Linear `name` becomes nn.Linear(in_features, num_classes) with PyTorch's default init (U(±1/√in) for
// weight and bias), on `current`'s device and dtype; with 0 classes it is removed. Returns the new holder (or an
// empty one).
torch::nn::Linear reset_linear(torch::nn::Module& parent, const std::string& name, const torch::nn::Linear& current,
                               int64_t in_features, int64_t num_classes);

// Stores every 4-D parameter of `module` channels-last (NHWC), or back to contiguous.
void set_weights_channels_last(torch::nn::Module& module, bool enable);

}  // namespace foldtorch::layers
