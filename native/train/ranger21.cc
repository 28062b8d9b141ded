// Ranger21's step, written op for op after the reference so that legacy mode matches it bit for bit on the
// same libtorch (the golden README, section 3, spells out the semantics this follows).
#include "train/ranger21.h"
#include "train/ranger21_detail.h"

#include <ATen/ATen.h>
#include <c10/util/irange.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

namespace foldtorch::train {

namespace {

// Dims from `first` to the last of a rank-`rank` tensor.
std::vector<int64_t> DimsFrom(int64_t first, int64_t rank) {
  std::vector<int64_t> dims(static_cast<size_t>(std::max<int64_t>(rank - first, 0)));
  std::iota(dims.begin(), dims.end(), first);
  return dims;
}

}  // namespace

// For a single tensor (lead 0) these are the reference's calls exactly, which legacy mode's bit-for-bit match
// depends on; a stack (lead 1) reduces each of its k parameters separately and keeps dims to broadcast.
at::Tensor UnitNorm(const at::Tensor& x, int64_t lead) {
  const int64_t ndim = x.dim() - lead;
  if (ndim <= 1) {
    if (lead == 0) return at::linalg_vector_norm(x, 2);
    return ndim == 0 ? x.abs() : at::linalg_vector_norm(x, 2, std::vector<int64_t>{1}, true);
  }
  if (ndim <= 3) return at::linalg_vector_norm(x, 2, std::vector<int64_t>{1 + lead}, true);
  return at::linalg_vector_norm(x, 2, DimsFrom(1 + lead, x.dim()), true);
}

void CentralizeGradient(at::Tensor& grad, bool conv_only, int64_t lead) {
  const int64_t ndim = grad.dim() - lead;
  if (conv_only ? ndim > 3 : ndim > 1) grad.add_(-grad.mean(DimsFrom(1 + lead, grad.dim()), true));
}

void NormalizeGradient(at::Tensor& grad, int64_t lead) {
  if (lead == 0) {
    if (grad.numel() > 2) grad.div_(grad.std() + 1e-8);
  } else if (grad.numel() / grad.size(0) > 2) {
    grad.div_(at::std(grad, DimsFrom(1, grad.dim()), /*unbiased=*/true, /*keepdim=*/true) + 1e-8);
  }
}

void ClipGradient(const at::Tensor& param, at::Tensor& grad, double clipping_value, double eps, int64_t lead) {
  auto param_norm = UnitNorm(param, lead).clamp_min_(eps);
  auto grad_norm = UnitNorm(grad, lead);
  auto max_norm = param_norm * clipping_value;
  auto clipped = grad * (max_norm / grad_norm.clamp_min(1e-6));
  grad.copy_(at::where(grad_norm > max_norm, clipped, grad));
}

void DecayAndNormLoss(at::Tensor& param, const Ranger21Options& o, double weight_decay, double lr,
                      double variance_normalized, int64_t lead) {
  if (weight_decay != 0) param.mul_(1 - weight_decay * lr / variance_normalized);
  if (o.normloss_active()) {
    const auto unorm = UnitNorm(param, lead);
    const auto correction = (1 - (unorm + o.eps()).reciprocal()) * (2 * o.normloss_factor());
    param.mul_(1 - correction * lr);
  }
}

void AdamPnmUpdate(at::Tensor& param, const at::Tensor& grad, const MomentState& m, const Ranger21Options& o,
                   const Ranger21Options& group, double lr) {
  const auto [beta1, beta2] = group.betas();
  // Positive-negative momentum: the two moving averages swap roles every step.
  auto grad_ma = m.step % 2 == 1 ? m.grad_ma : m.neg_grad_ma;
  auto neg_grad_ma = m.step % 2 == 1 ? m.neg_grad_ma : m.grad_ma;
  const double bias_correction1 = 1 - std::pow(beta1, static_cast<double>(m.step));
  const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(m.step));
  auto denom = (m.variance_ma.sqrt() / std::sqrt(bias_correction2)).add_(group.eps());
  grad_ma.mul_(std::pow(beta1, 2.0)).add_(grad, 1 - std::pow(beta1, 2.0));
  const double noise_norm = std::sqrt(std::pow(1 + beta2, 2.0) + std::pow(beta2, 2.0));
  const double step_size = lr / bias_correction1;
  if (o.softplus()) denom = at::softplus(denom, o.beta_softplus(), 20);
  const auto pn_momentum = grad_ma.mul(2).add(neg_grad_ma, -1).mul(1 / noise_norm);
  param.addcdiv_(pn_momentum, denom, -step_size);
}

const Ranger21Options& GroupOptions(const torch::optim::OptimizerParamGroup& group) {
  return static_cast<const Ranger21Options&>(group.options());
}

double VarianceNormalized(const at::Tensor& variance_sum, int64_t param_size) {
  TORCH_CHECK(param_size > 0, "ranger21: no parameter has a gradient");
  const double variance_normalized = std::sqrt((variance_sum / param_size).item<double>());
  TORCH_CHECK(!std::isnan(variance_normalized),
              "ranger21: the gradient variance is NaN (a NaN or inf gradient reached the optimizer)");
  return variance_normalized;
}

namespace {

void CheckOptions(const Ranger21Options& o) {
  TORCH_CHECK(o.lr() >= 0, "ranger21: expected lr >= 0 (got ", o.lr(), ")");
  TORCH_CHECK(o.eps() >= 0, "ranger21: expected eps >= 0 (got ", o.eps(), ")");
  TORCH_CHECK(o.weight_decay() >= 0, "ranger21: expected weight_decay >= 0 (got ", o.weight_decay(), ")");
  const auto [beta1, beta2] = o.betas();
  TORCH_CHECK(beta1 >= 0 && beta1 < 1, "ranger21: expected beta1 in [0, 1) (got ", beta1, ")");
  TORCH_CHECK(beta2 >= 0 && beta2 < 1, "ranger21: expected beta2 in [0, 1) (got ", beta2, ")");
  TORCH_CHECK(o.num_epochs() > 0 && o.num_batches_per_epoch() > 0,
              "ranger21: expected positive num_epochs and num_batches_per_epoch (got ", o.num_epochs(), " and ",
              o.num_batches_per_epoch(), ")");
  TORCH_CHECK(o.lookahead_merge_time() > 0, "ranger21: expected lookahead_merge_time > 0 (got ",
              o.lookahead_merge_time(), ")");
  TORCH_CHECK(o.warmdown_min_lr() >= 0, "ranger21: expected warmdown_min_lr >= 0 (got ", o.warmdown_min_lr(), ")");
  TORCH_CHECK(!o.num_warmup_iterations() || *o.num_warmup_iterations() >= 0,
              "ranger21: expected num_warmup_iterations >= 0 (got ", o.num_warmup_iterations().value_or(0), ")");
}

}  // namespace

Ranger21Options::Ranger21Options(double lr) : lr_(lr) {}

Ranger21Schedule Ranger21Schedule::From(const Ranger21Options& o) {
  Ranger21Schedule s;
  s.total_iterations = o.num_epochs() * o.num_batches_per_epoch();
  if (o.num_warmup_iterations()) {
    s.warmup_iterations = *o.num_warmup_iterations();
  } else {
    // ceil(2 / (1 - beta2)) (2000 for 0.999), unless that is over 45% of the run: then 22% of it.
    const auto beta_warmup = static_cast<int64_t>(std::ceil(2.0 / (1.0 - std::get<1>(o.betas()))));
    const double beta_pct = static_cast<double>(beta_warmup) / static_cast<double>(s.total_iterations);
    s.warmup_iterations = beta_pct > 0.45
                              ? static_cast<int64_t>(o.warmup_pct_default() * static_cast<double>(s.total_iterations))
                              : beta_warmup;
  }
  // Evaluated left to right in double and truncated, as Python's int(pct * epochs * batches).
  s.warmdown_start = static_cast<int64_t>(o.warmdown_start_pct() * static_cast<double>(o.num_epochs()) *
                                          static_cast<double>(o.num_batches_per_epoch()));
  s.warmdown_iterations = s.total_iterations - s.warmdown_start;
  return s;
}

double Ranger21Schedule::LearningRate(const Ranger21Options& defaults, double group_lr, int64_t step) const {
  double lr = group_lr;
  if (defaults.use_warmup() && step <= warmup_iterations) {
    lr = lr * std::min(1.0, static_cast<double>(step) / static_cast<double>(warmup_iterations));
  }
  if (defaults.warmdown_active() && step >= warmdown_start) {
    const bool legacy = defaults.mode() == Ranger21Mode::kLegacy;
    // The reference warms down from the constructor lr whatever the group's lr; corrected mode keeps each
    // group's size relative to the default lr.
    const double start = legacy ? defaults.lr() : group_lr;
    double min_lr = defaults.warmdown_min_lr();
    if (!legacy) min_lr = defaults.lr() > 0 ? min_lr * (group_lr / defaults.lr()) : 0.0;
    const double pct =
        std::min(1.0, static_cast<double>(step + 1 - warmdown_start) / static_cast<double>(warmdown_iterations + 1));
    const double reduction = (start - min_lr) * pct;
    lr = std::max(start - reduction, min_lr);
  }
  return lr;
}

Ranger21::Ranger21(const std::vector<torch::optim::OptimizerParamGroup>& param_groups, Ranger21Options defaults)
    : Optimizer(param_groups, std::make_unique<Ranger21Options>(defaults)) {
  CheckOptions(defaults);
  // libtorch 2.x merges a group's options with the defaults field by field, which drops per-group values it
  // does not know how to compare; keep exactly what each group was given.
  for (size_t i = 0; i < param_groups.size() && i < param_groups_.size(); ++i) {
    if (!param_groups[i].has_options()) continue;
    const auto* given = dynamic_cast<const Ranger21Options*>(&param_groups[i].options());
    TORCH_CHECK(given != nullptr, "ranger21: parameter group ", i, " has options of another optimizer");
    param_groups_[i].set_options(std::make_unique<Ranger21Options>(*given));
  }
  for (const auto& group : param_groups_) {
    CheckOptions(GroupOptions(group));
    for (const auto& p : group.params()) {
      TORCH_CHECK(p.scalar_type() == at::kFloat, "ranger21: expected float32 parameters (got ", p.scalar_type(),
                  "); Ranger21 keeps fp32 weights and state, autocast lowers activations only");
    }
  }
  schedule_ = Ranger21Schedule::From(defaults);
  last_lrs_.assign(param_groups_.size(), 0.0);
}

Ranger21::Ranger21(std::vector<torch::Tensor> params, Ranger21Options defaults)
    : Ranger21({torch::optim::OptimizerParamGroup(std::move(params))}, std::move(defaults)) {}

const Ranger21Options& Ranger21::options() const { return static_cast<const Ranger21Options&>(defaults()); }

std::vector<double> Ranger21::scheduled_lrs(int64_t step) const {
  std::vector<double> lrs;
  for (const auto& group : param_groups_)
    lrs.push_back(schedule_.LearningRate(options(), GroupOptions(group).lr(), step));
  return lrs;
}

Ranger21ParamState& Ranger21::StateFor(const torch::Tensor& param) {
  auto& slot = state_[param.unsafeGetTensorImpl()];
  if (!slot) {
    auto state = std::make_unique<Ranger21ParamState>();
    state->grad_ma(at::zeros_like(param, at::MemoryFormat::Preserve));
    state->neg_grad_ma(at::zeros_like(param, at::MemoryFormat::Preserve));
    state->variance_ma(at::zeros_like(param, at::MemoryFormat::Preserve));
    if (options().lookahead_active()) state->lookahead_params(param.detach().clone());
    slot = std::move(state);
  }
  return static_cast<Ranger21ParamState&>(*slot);
}

void Ranger21::Lookahead() {
  const double alpha = options().lookahead_blending_alpha();
  for (auto& group : param_groups_) {
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& state = StateFor(p);
      p.mul_(alpha).add_(state.lookahead_params(), 1.0 - alpha);
      state.lookahead_params().copy_(p);
    }
  }
}

torch::Tensor Ranger21::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss;
  if (closure) {
    torch::AutoGradMode enable_grad(true);
    loss = closure();
  }
  const auto& o = options();
  const bool merge_lookahead = o.lookahead_active() && lookahead_step_ + 1 >= o.lookahead_merge_time();
  const bool stacked = o.foreach () && o.mode() == Ranger21Mode::kCorrected;
  last_variance_normalized_ = stacked ? StackedStep(merge_lookahead) : PerTensorStep(merge_lookahead);
  lookahead_step_ = merge_lookahead ? 0 : lookahead_step_ + 1;
  ++iteration_;
  return loss;
}

double Ranger21::PerTensorStep(bool merge_lookahead) {
  buckets_.clear();  // the stacked layout no longer holds the state once this path has run
  const auto& o = options();
  const bool legacy = o.mode() == Ranger21Mode::kLegacy;
  // The reference's loop variables outlive their loops; legacy mode reads them where it does.
  torch::Tensor leaked_param;
  int64_t leaked_step = 0;

  // Phase 1: clip, centralise and normalise every gradient in place; update the variances and sum them.
  torch::Tensor variance_sum;
  int64_t param_size = 0;
  for (auto& group : param_groups_) {
    const auto& g = GroupOptions(group);
    const double beta2 = std::get<1>(g.betas());
    for (auto& p : group.params()) {
      leaked_param = p;
      if (!p.grad().defined()) continue;
      TORCH_CHECK(!p.grad().is_sparse(), "ranger21: sparse gradients are not supported");
      auto grad = p.grad();
      param_size += p.numel();
      if (o.use_adaptive_gradient_clipping()) ClipGradient(p, grad, o.agc_clipping_value(), o.agc_eps(), 0);
      auto& state = StateFor(p);
      if (o.using_gc()) CentralizeGradient(grad, o.gc_conv_only(), 0);
      if (o.using_normgc()) NormalizeGradient(grad, 0);
      state.step(state.step() + 1);
      leaked_step = state.step();
      const double bias_correction2 = 1 - std::pow(beta2, static_cast<double>(state.step()));
      state.variance_ma().mul_(beta2).addcmul_(grad, grad, 1 - beta2);
      const auto debiased_sum = (state.variance_ma() / bias_correction2).sum();
      variance_sum = variance_sum.defined() ? variance_sum + debiased_sum : debiased_sum;
    }
  }
  const double variance_normalized = VarianceNormalized(variance_sum, param_size);

  // Phase 2: schedule, stable weight decay + norm loss, then the AdamW/PNM update of each parameter.
  for (const auto gi : c10::irange(param_groups_.size())) {
    auto& group = param_groups_[gi];
    const auto& g = GroupOptions(group);
    const int64_t step = legacy ? leaked_step : iteration_ + 1;
    const double lr = schedule_.LearningRate(o, g.lr(), step);
    last_lrs_[gi] = lr;
    if (legacy && leaked_param.defined())
      DecayAndNormLoss(leaked_param, o, g.weight_decay(), lr, variance_normalized, 0);
    for (auto& p : group.params()) {
      leaked_param = p;
      if (!p.grad().defined()) continue;
      auto& state = StateFor(p);
      if (!legacy) DecayAndNormLoss(p, o, g.weight_decay(), lr, variance_normalized, 0);
      auto grad = p.grad();
      // The reference centralises and normalises a second time here (the update's denominator does not read
      // the gradient, so doing it before is the same).
      if (legacy && o.using_gc()) CentralizeGradient(grad, o.gc_conv_only(), 0);
      if (legacy && o.using_normgc()) NormalizeGradient(grad, 0);
      AdamPnmUpdate(p, grad, {state.step(), state.grad_ma(), state.neg_grad_ma(), state.variance_ma()}, o, g, lr);
      leaked_step = state.step();
    }
  }
  if (merge_lookahead) Lookahead();
  return variance_normalized;
}

Ranger21State Ranger21::export_state() const {
  Ranger21State out;
  out.iteration = iteration_;
  out.lookahead_step = lookahead_step_;
  int64_t index = 0;
  for (const auto& group : param_groups_) {
    for (const auto& p : group.params()) {
      const auto found = state_.find(p.unsafeGetTensorImpl());
      if (found != state_.end()) {
        const auto& s = static_cast<const Ranger21ParamState&>(*found->second);
        const std::string prefix = std::to_string(index) + ".";
        out.tensors[prefix + "step"] = at::tensor({s.step()}, at::kLong);
        out.tensors[prefix + "grad_ma"] = s.grad_ma();
        out.tensors[prefix + "neg_grad_ma"] = s.neg_grad_ma();
        out.tensors[prefix + "variance_ma"] = s.variance_ma();
        if (s.lookahead_params().defined()) out.tensors[prefix + "lookahead_params"] = s.lookahead_params();
      }
      ++index;
    }
  }
  return out;
}

void Ranger21::import_state(const Ranger21State& in) {
  std::vector<torch::Tensor> params;
  for (const auto& group : param_groups_) params.insert(params.end(), group.params().begin(), group.params().end());
  static const std::set<std::string> kFields = {"step", "grad_ma", "neg_grad_ma", "variance_ma", "lookahead_params"};
  std::map<size_t, std::unique_ptr<Ranger21ParamState>> fresh;
  for (const auto& [key, tensor] : in.tensors) {
    const auto dot = key.find('.');
    const std::string index_text = key.substr(0, dot);
    TORCH_CHECK(dot != std::string::npos && !index_text.empty() &&
                    std::all_of(index_text.begin(), index_text.end(), [](char c) { return c >= '0' && c <= '9'; }),
                "ranger21: unexpected optimizer state key '", key, "'");
    const size_t index = std::stoull(index_text);
    const std::string field = key.substr(dot + 1);
    TORCH_CHECK(index < params.size(), "ranger21: optimizer state for parameter ", index, " but the optimizer has ",
                params.size(), " parameters");
    TORCH_CHECK(kFields.count(field), "ranger21: unknown optimizer state field '", key, "'");
    auto& state = fresh[index];
    if (!state) state = std::make_unique<Ranger21ParamState>();
    const auto& param = params[index];
    if (field == "step") {
      TORCH_CHECK(tensor.numel() == 1 && !tensor.is_floating_point(), "ranger21: expected one integer for '", key, "'");
      state->step(tensor.item<int64_t>());
      continue;
    }
    TORCH_CHECK(tensor.sizes() == param.sizes(), "ranger21: optimizer state '", key, "' has shape ", tensor.sizes(),
                " but parameter ", index, " has shape ", param.sizes());
    TORCH_CHECK(tensor.scalar_type() == at::kFloat, "ranger21: expected float32 for '", key, "' (got ",
                tensor.scalar_type(), ")");
    auto copy = at::empty_like(param, at::MemoryFormat::Preserve).copy_(tensor);
    if (field == "grad_ma") state->grad_ma(copy);
    if (field == "neg_grad_ma") state->neg_grad_ma(copy);
    if (field == "variance_ma") state->variance_ma(copy);
    if (field == "lookahead_params") state->lookahead_params(copy);
  }
  for (const auto& [index, state] : fresh) {
    const bool complete = state->step() > 0 && state->grad_ma().defined() && state->neg_grad_ma().defined() &&
                          state->variance_ma().defined() &&
                          (state->lookahead_params().defined() || !options().lookahead_active());
    TORCH_CHECK(complete, "ranger21: incomplete optimizer state for parameter ", index);
  }
  TORCH_CHECK(in.iteration >= 0 && in.lookahead_step >= 0 && in.lookahead_step < options().lookahead_merge_time(),
              "ranger21: bad counters (iteration ", in.iteration, ", lookahead step ", in.lookahead_step, ")");
  state_.clear();
  buckets_.clear();
  for (auto& [index, state] : fresh) state_[params[index].unsafeGetTensorImpl()] = std::move(state);
  iteration_ = in.iteration;
  lookahead_step_ = in.lookahead_step;
}

}  // namespace foldtorch::train
