// Ranger21 (lessw2020/Ranger21 @1a967772) as a torch::optim::Optimizer: AdamW core with positive-negative
// momentum, stable weight decay, norm loss, gradient centralisation + normalisation, adaptive gradient
// clipping, lookahead, softplus denominator, linear warmup and linear warmdown.
#pragma once

#include <torch/optim/optimizer.h>

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace foldtorch::train {

// kLegacy reproduces the reference bit for bit on the same libtorch, quirks included: its weight decay and norm
// loss reach only the last parameter its loops visited (a leaked loop variable), gradient centralisation and
// normalisation run twice, and warmdown always starts from the constructor lr. kCorrected applies decay and
// norm loss to every parameter, centralises/normalises once, and warms each group down from its own lr to
// warmdown_min_lr scaled by that group's lr / the default lr.
enum class Ranger21Mode { kLegacy, kCorrected };

// lr, weight_decay, eps and betas may differ per parameter group; everything else is read from the
// optimizer's defaults, as the reference keeps them on the optimizer rather than on groups.
struct Ranger21Options : public torch::optim::OptimizerCloneableOptions<Ranger21Options> {
  Ranger21Options(double lr = 1e-3);  // NOLINT(google-explicit-constructor): as torch::optim's own options
  using betas_t = std::tuple<double, double>;
  TORCH_ARG(double, lr) = 1e-3;
  TORCH_ARG(double, weight_decay) = 1e-4;
  TORCH_ARG(double, eps) = 1e-8;
  TORCH_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  // Run length: the schedule is laid out over num_epochs * num_batches_per_epoch optimizer steps.
  TORCH_ARG(int64_t, num_epochs) = 1;
  TORCH_ARG(int64_t, num_batches_per_epoch) = 1;
  TORCH_ARG(bool, use_warmup) = true;
  TORCH_ARG(std::optional<int64_t>, num_warmup_iterations) = std::nullopt;
  TORCH_ARG(double, warmup_pct_default) = 0.22;
  TORCH_ARG(bool, warmdown_active) = true;
  TORCH_ARG(double, warmdown_start_pct) = 0.72;
  TORCH_ARG(double, warmdown_min_lr) = 3e-5;
  TORCH_ARG(bool, lookahead_active) = true;
  TORCH_ARG(int64_t, lookahead_merge_time) = 5;
  TORCH_ARG(double, lookahead_blending_alpha) = 0.5;
  TORCH_ARG(bool, softplus) = true;
  TORCH_ARG(double, beta_softplus) = 50.0;
  TORCH_ARG(bool, using_gc) = true;
  TORCH_ARG(bool, using_normgc) = true;
  TORCH_ARG(bool, gc_conv_only) = false;
  TORCH_ARG(bool, normloss_active) = true;
  TORCH_ARG(double, normloss_factor) = 1e-4;
  TORCH_ARG(bool, use_adaptive_gradient_clipping) = true;
  TORCH_ARG(double, agc_clipping_value) = 1e-2;
  TORCH_ARG(double, agc_eps) = 1e-3;
  TORCH_ARG(Ranger21Mode, mode) = Ranger21Mode::kCorrected;
  // Corrected mode only: run the step on stacks of same-shape parameters (a few dozen kernels per shape instead
  // of ~40 per tensor: what makes it fast on a GPU). Legacy mode always runs tensor by tensor, as the reference.
  TORCH_ARG(bool, foreach) = true;

 public:
  double get_lr() const override { return lr(); }
  void set_lr(const double lr) override { this->lr(lr); }
};

struct Ranger21ParamState : public torch::optim::OptimizerCloneableParamState<Ranger21ParamState> {
  TORCH_ARG(int64_t, step) = 0;
  TORCH_ARG(torch::Tensor, grad_ma);
  TORCH_ARG(torch::Tensor, neg_grad_ma);
  TORCH_ARG(torch::Tensor, variance_ma);
  TORCH_ARG(torch::Tensor, lookahead_params);  // undefined when lookahead is off
};

// The derived schedule constants, exactly as the reference computes them from its constructor arguments.
struct Ranger21Schedule {
  int64_t total_iterations = 0;
  int64_t warmup_iterations = 0;
  int64_t warmdown_start = 0;
  int64_t warmdown_iterations = 0;

  static Ranger21Schedule From(const Ranger21Options& options);
  // The lr at 1-based `step` for a group whose configured lr is `group_lr`.
  double LearningRate(const Ranger21Options& defaults, double group_lr, int64_t step) const;
};

// Everything a checkpoint needs to continue bit-identically. Tensors are keyed "<index>.<field>" where index
// is the parameter's position over all groups in order; parameters that never had a gradient have none.
struct Ranger21State {
  int64_t iteration = 0;
  int64_t lookahead_step = 0;
  std::map<std::string, torch::Tensor> tensors;
};

class Ranger21 : public torch::optim::Optimizer {
 public:
  explicit Ranger21(const std::vector<torch::optim::OptimizerParamGroup>& param_groups, Ranger21Options defaults = {});
  explicit Ranger21(std::vector<torch::Tensor> params, Ranger21Options defaults = {});

  torch::Tensor step(LossClosure closure = nullptr) override;

  const Ranger21Options& options() const;
  const Ranger21Schedule& schedule() const { return schedule_; }
  // The lr of each group at 1-based optimizer step `step`.
  std::vector<double> scheduled_lrs(int64_t step) const;
  // What the last step() used: per-group lr and sqrt(mean debiased variance) of the stable decay.
  const std::vector<double>& last_lrs() const { return last_lrs_; }
  double last_variance_normalized() const { return last_variance_normalized_; }
  int64_t iteration() const { return iteration_; }

  Ranger21State export_state() const;
  // All-or-nothing: validates every entry against the parameters before replacing any state.
  void import_state(const Ranger21State& state);

 private:
  // The parameters of one group that share a shape and a step count, with their state stacked: each
  // parameter's Ranger21ParamState tensors are views into these stacks.
  struct StackedBucket {
    size_t group = 0;
    std::vector<torch::Tensor> params;
    torch::Tensor grad_ma, neg_grad_ma, variance_ma, lookahead_params;
  };

  Ranger21ParamState& StateFor(const torch::Tensor& param);
  double PerTensorStep(bool merge_lookahead);
  double StackedStep(bool merge_lookahead);  // ranger21_stacked.cc
  void RebuildBuckets();
  void Lookahead();

  Ranger21Schedule schedule_;
  int64_t iteration_ = 0;
  int64_t lookahead_step_ = 0;
  std::vector<double> last_lrs_;
  double last_variance_normalized_ = 0.0;
  std::vector<StackedBucket> buckets_;  // StackedStep's layout; rebuilt whenever the parameters with gradients change
};

}  // namespace foldtorch::train
