// Ranger21's corrected step on stacks of same-shape parameters. Tensor by tensor, the step launches ~40 small
// kernels per parameter (~9,400 for EVA-02 base), which on a GPU costs more than the forward and backward of a
// small batch; a transformer has a handful of distinct shapes, so stacking each shape's parameters runs the same
// arithmetic in a few dozen kernels per shape. Each parameter's state tensors are views into its stack, so
// checkpoints, import/export and the tensor-by-tensor path see the usual per-parameter state.
#include <ATen/ATen.h>
#include <c10/util/irange.h>

#include <map>
#include <tuple>

#include "train/ranger21.h"
#include "train/ranger21_detail.h"

namespace foldtorch::train {

namespace {

std::vector<at::Tensor> Grads(const std::vector<at::Tensor>& params) {
  std::vector<at::Tensor> grads;
  grads.reserve(params.size());
  for (const auto& p : params) grads.push_back(p.grad());
  return grads;
}

bool SameParams(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (const auto i : c10::irange(a.size())) {
    if (a[i].unsafeGetTensorImpl() != b[i].unsafeGetTensorImpl()) return false;
  }
  return true;
}

}  // namespace

// Buckets the parameters that have gradients by (group, shape, step count), in parameter order. When that
// differs from the current layout (first step, a freeze or unfreeze, imported state), the state is stacked
// anew from the per-parameter tensors and each parameter's state becomes a view into the stacks.
void Ranger21::RebuildBuckets() {
  std::vector<StackedBucket> wanted;
  std::map<std::tuple<size_t, std::vector<int64_t>, int64_t>, size_t> index;
  for (const auto gi : c10::irange(param_groups_.size())) {
    for (const auto& p : param_groups_[gi].params()) {
      if (!p.grad().defined()) continue;
      TORCH_CHECK(!p.grad().is_sparse(), "ranger21: sparse gradients are not supported");
      const auto key = std::make_tuple(static_cast<size_t>(gi), p.sizes().vec(), StateFor(p).step());
      auto found = index.find(key);
      if (found == index.end()) {
        found = index.emplace(key, wanted.size()).first;
        wanted.push_back({static_cast<size_t>(gi), {}, {}, {}, {}, {}});
      }
      wanted[found->second].params.push_back(p);
    }
  }
  bool same = wanted.size() == buckets_.size();
  for (size_t b = 0; same && b < wanted.size(); ++b) {
    same = wanted[b].group == buckets_[b].group && SameParams(wanted[b].params, buckets_[b].params);
  }
  if (same) return;

  const bool lookahead = options().lookahead_active();
  for (auto& bucket : wanted) {
    std::vector<at::Tensor> grad_ma, neg_grad_ma, variance_ma, lookahead_params;
    for (const auto& p : bucket.params) {
      auto& state = StateFor(p);
      grad_ma.push_back(state.grad_ma());
      neg_grad_ma.push_back(state.neg_grad_ma());
      variance_ma.push_back(state.variance_ma());
      if (lookahead) lookahead_params.push_back(state.lookahead_params());
    }
    bucket.grad_ma = at::stack(grad_ma);
    bucket.neg_grad_ma = at::stack(neg_grad_ma);
    bucket.variance_ma = at::stack(variance_ma);
    if (lookahead) bucket.lookahead_params = at::stack(lookahead_params);
    for (const auto i : c10::irange(bucket.params.size())) {
      auto& state = StateFor(bucket.params[i]);
      const auto at = static_cast<int64_t>(i);
      state.grad_ma(bucket.grad_ma.select(0, at));
      state.neg_grad_ma(bucket.neg_grad_ma.select(0, at));
      state.variance_ma(bucket.variance_ma.select(0, at));
      if (lookahead) state.lookahead_params(bucket.lookahead_params.select(0, at));
    }
  }
  buckets_ = std::move(wanted);
}

double Ranger21::StackedStep(bool merge_lookahead) {
  const auto& o = options();
  RebuildBuckets();

  // Phase 1: clip, centralise and normalise the stacked gradients; update the variances and sum them. The
  // processed gradients are written back, as the tensor-by-tensor path leaves them.
  std::vector<at::Tensor> stacked_grads;
  stacked_grads.reserve(buckets_.size());
  std::vector<int64_t> steps;
  at::Tensor variance_sum;
  int64_t param_size = 0;
  for (auto& bucket : buckets_) {
    const double beta2 = std::get<1>(GroupOptions(param_groups_[bucket.group]).betas());
    auto grads = Grads(bucket.params);
    auto grad = at::stack(grads);
    if (o.use_adaptive_gradient_clipping())
      ClipGradient(at::stack(bucket.params), grad, o.agc_clipping_value(), o.agc_eps(), 1);
    if (o.using_gc()) CentralizeGradient(grad, o.gc_conv_only(), 1);
    if (o.using_normgc()) NormalizeGradient(grad, 1);
    at::_foreach_copy_(grads, grad.unbind(0));
    int64_t step = 0;
    for (const auto& p : bucket.params) {
      auto& state = StateFor(p);
      state.step(state.step() + 1);
      step = state.step();
    }
    steps.push_back(step);
    const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(step));
    bucket.variance_ma.mul_(beta2).addcmul_(grad, grad, 1 - beta2);
    const auto debiased_sum = (bucket.variance_ma / bias_correction2).sum();
    variance_sum = variance_sum.defined() ? variance_sum + debiased_sum : debiased_sum;
    param_size += grad.numel();
    stacked_grads.push_back(std::move(grad));
  }
  const double variance_normalized = VarianceNormalized(variance_sum, param_size);

  // Phase 2: stable weight decay + norm loss, the AdamW/PNM update and lookahead on each stack, then the stack
  // is copied back into its parameters.
  for (const auto gi : c10::irange(param_groups_.size())) {
    last_lrs_[gi] = schedule_.LearningRate(o, GroupOptions(param_groups_[gi]).lr(), iteration_ + 1);
  }
  const double alpha = o.lookahead_blending_alpha();
  for (const auto b : c10::irange(buckets_.size())) {
    auto& bucket = buckets_[b];
    const auto& g = GroupOptions(param_groups_[bucket.group]);
    const double lr = last_lrs_[bucket.group];
    auto param = at::stack(bucket.params);
    DecayAndNormLoss(param, o, g.weight_decay(), lr, variance_normalized, 1);
    AdamPnmUpdate(param, stacked_grads[b], {steps[b], bucket.grad_ma, bucket.neg_grad_ma, bucket.variance_ma}, o, g,
                  lr);
    if (merge_lookahead) {
      param.mul_(alpha).add_(bucket.lookahead_params, 1.0 - alpha);
      bucket.lookahead_params.copy_(param);
    }
    at::_foreach_copy_(bucket.params, param.unbind(0));
    stacked_grads[b] = at::Tensor();  // free as we go
  }
  return variance_normalized;
}

}  // namespace foldtorch::train
