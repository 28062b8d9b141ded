// What ranger21.cc shares with ranger21_stacked.cc, the two ways of running one Ranger21 step.
#pragma once

#include <ATen/core/Tensor.h>

#include "train/ranger21.h"

namespace foldtorch::train {

// The step's pieces, for one tensor (lead 0) or a stack of k same-shape tensors [k, ...] (lead 1), each
// parameter of a stack reduced on its own.
at::Tensor UnitNorm(const at::Tensor& x, int64_t lead);
void CentralizeGradient(at::Tensor& grad, bool conv_only, int64_t lead);
void NormalizeGradient(at::Tensor& grad, int64_t lead);
void ClipGradient(const at::Tensor& param, at::Tensor& grad, double clipping_value, double eps, int64_t lead);
void DecayAndNormLoss(at::Tensor& param, const Ranger21Options& o, double weight_decay, double lr,
                      double variance_normalized, int64_t lead);

// One parameter's (or one stack's) moments at its current 1-based step.
struct MomentState {
  int64_t step = 0;
  at::Tensor grad_ma, neg_grad_ma, variance_ma;
};
// The AdamW core with positive-negative momentum and the softplus denominator; elementwise, so a stack works.
void AdamPnmUpdate(at::Tensor& param, const at::Tensor& grad, const MomentState& moments, const Ranger21Options& o,
                   const Ranger21Options& group, double lr);

const Ranger21Options& GroupOptions(const torch::optim::OptimizerParamGroup& group);

// sqrt(mean debiased variance) for the stable weight decay; fails on NaN (a non-finite gradient got through).
double VarianceNormalized(const at::Tensor& variance_sum, int64_t param_size);

}  // namespace foldtorch::train
