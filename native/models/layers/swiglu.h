// Gated MLPs of EVA-02: SwiGLU with separate gate/value projections (optional inner LayerNorm, timm's
// scale_mlp) and the packed GluMlp (one fc1, first half is the SiLU gate).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

namespace foldtorch::layers {

// fc2(norm(silu(fc1_g(x)) * fc1_x(x))); keys fc1_g, fc1_x, norm (when inner_norm), fc2.
class SwiGLUImpl : public torch::nn::Module {
 public:
  SwiGLUImpl(int64_t in_features, int64_t hidden_features, bool inner_norm, double norm_eps = 1e-6);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Linear fc1_g_{nullptr}, fc1_x_{nullptr}, fc2_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};
TORCH_MODULE(SwiGLU);

// fc2(silu(a) * b) with (a, b) = fc1(x).chunk(2); keys fc1 [2*hidden, in], fc2 [in, hidden].
class GluMlpImpl : public torch::nn::Module {
 public:
  GluMlpImpl(int64_t in_features, int64_t hidden_features);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(GluMlp);

}  // namespace foldtorch::layers
