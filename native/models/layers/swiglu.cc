// SwiGLU and GluMlp forward passes.
#include "models/layers/swiglu.h"

#include <ATen/ATen.h>

#include "models/layers/linear.h"
namespace foldtorch::layers {

SwiGLUImpl::SwiGLUImpl(int64_t in_features, int64_t hidden_features, bool inner_norm, double norm_eps) {
  fc1_g_ = register_module("fc1_g", torch::nn::Linear(in_features, hidden_features));
  fc1_x_ = register_module("fc1_x", torch::nn::Linear(in_features, hidden_features));
  if (inner_norm) {
    norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({hidden_features}).eps(norm_eps)));
  }
  fc2_ = register_module("fc2", torch::nn::Linear(hidden_features, in_features));
}

torch::Tensor SwiGLUImpl::forward(const torch::Tensor& x) {
  auto hidden = at::silu(linear(fc1_g_, x)) * linear(fc1_x_, x);
  if (norm_) hidden = norm_->forward(hidden);
  return linear(fc2_, hidden);
}

GluMlpImpl::GluMlpImpl(int64_t in_features, int64_t hidden_features) {
  fc1_ = register_module("fc1", torch::nn::Linear(in_features, 2 * hidden_features));
  fc2_ = register_module("fc2", torch::nn::Linear(hidden_features, in_features));
}

torch::Tensor GluMlpImpl::forward(const torch::Tensor& x) {
  auto halves = linear(fc1_, x).chunk(2, -1);
  return linear(fc2_, at::silu(halves[0]) * halves[1]);
}

}  // namespace foldtorch::layers
