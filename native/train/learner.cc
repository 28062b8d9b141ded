// Learner steps: autocast forward, float32 loss, (scaled) backward, accumulation, then an unscale/inf check and
// the Ranger21 step, or a skipped step when the scaler finds inf/NaN.
#include "train/learner.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <torch/nn/module.h>

#include <cmath>
#include <limits>
#include <regex>

#include "compat.h"

namespace foldtorch::train {

namespace {

std::regex MakeRegex(const std::string& pattern) {
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    TORCH_CHECK_VALUE(false, "learner: bad parameter name pattern /", pattern, "/ (", e.what(), ")");
  }
}

// "NaN", "inf" or "-inf": the same words on every platform (ostream's NaN spelling varies with the sign bit).
std::string DescribeNonFinite(double value) {
  if (std::isnan(value)) return "NaN";
  return value > 0 ? "inf" : "-inf";
}

}  // namespace

Learner::Learner(Classifier model, c10::Device device, LearnerOptions options)
    : model_(std::move(model)),
      device_(device),
      options_(std::move(options)),
      autocast_(AutocastMode::For(options_.precision, device_)) {
  TORCH_CHECK_VALUE(model_ != nullptr, "learner: no model");
  TORCH_CHECK_VALUE(options_.accumulation_steps >= 1, "learner: expected accumulation_steps >= 1 (got ",
                    options_.accumulation_steps, ")");
  if (options_.seed) at::manual_seed(*options_.seed);
  BuildOptimizer();
  if (options_.data_parallel) {
    data_parallel_ = CurrentDataParallel();
    TORCH_CHECK_VALUE(data_parallel_ != nullptr,
                      "learner: data_parallel needs a process group (initDistributed first)");
    std::vector<at::Tensor> state = model_->parameters(/*recurse=*/true);
    for (const auto& buffer : model_->buffers(/*recurse=*/true)) state.push_back(buffer);
    data_parallel_->broadcast_from_rank0(state);
  }
  if (autocast_.needs_scaler || options_.force_grad_scaler)
    scaler_ = std::make_unique<GradScaler>(options_.scaler, device_);
}

void Learner::BuildOptimizer() {
  std::vector<std::regex> rules;
  for (const auto& rule : options_.param_groups) rules.push_back(MakeRegex(rule.pattern));
  std::vector<std::vector<std::pair<std::string, at::Tensor>>> members(rules.size() + 1);
  for (const auto& item : model_->named_parameters(/*recurse=*/true)) {
    size_t slot = rules.size();
    for (size_t r = 0; r < rules.size() && slot == rules.size(); ++r) {
      if (std::regex_search(item.key(), rules[r])) slot = r;
    }
    members[slot].emplace_back(item.key(), item.value());
  }
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (size_t g = 0; g < members.size(); ++g) {
    if (members[g].empty()) continue;
    auto group_options = std::make_unique<Ranger21Options>(options_.optimizer);
    if (g < rules.size()) {
      if (options_.param_groups[g].lr) group_options->lr(*options_.param_groups[g].lr);
      if (options_.param_groups[g].weight_decay) group_options->weight_decay(*options_.param_groups[g].weight_decay);
    }
    std::vector<at::Tensor> params;
    for (auto& [name, tensor] : members[g]) {
      optimizer_names_.push_back(name);
      params.push_back(tensor);
    }
    groups.emplace_back(std::move(params), std::move(group_options));
  }
  TORCH_CHECK_VALUE(!groups.empty(), "learner: the model has no parameters");
  optimizer_ = std::make_unique<Ranger21>(groups, options_.optimizer);
}

std::vector<at::Tensor> Learner::Parameters() const {
  std::vector<at::Tensor> params;
  for (const auto& group : optimizer_->param_groups())
    params.insert(params.end(), group.params().begin(), group.params().end());
  return params;
}

bool Learner::GradientsFinite() {
  std::vector<at::Tensor> grads;
  for (const auto& p : Parameters()) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  if (grads.empty()) return true;
  auto found_inf = at::zeros({1}, at::TensorOptions().dtype(at::kFloat).device(device_));
  const auto one = at::ones({1}, at::TensorOptions().dtype(at::kFloat).device(device_));
  // One fused pass; multiplying by 1 leaves every value (and its sign) as it was.
  at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf, one);
  return found_inf.item<float>() == 0.0f;
}

// The reducer covers the trainable parameters only (as DDP's), so it is rebuilt whenever freezing changes them.
void Learner::SyncTrainable() {
  std::vector<at::Tensor> trainable;
  std::vector<const void*> ids;
  for (const auto& p : Parameters()) {
    if (!p.requires_grad()) continue;
    trainable.push_back(p);
    ids.push_back(p.unsafeGetTensorImpl());
  }
  if (ids == reduced_) return;
  data_parallel_->attach(trainable);
  reduced_ = std::move(ids);
}

void Learner::Discard() {
  optimizer_->zero_grad(/*set_to_none=*/true);
  counters_.micro_step = 0;
}

TrainStepResult Learner::train_step(const at::Tensor& images, const at::Tensor& labels, bool keep_logits) {
  TORCH_CHECK_VALUE(images.dim() == 4 && images.size(0) > 0,
                    "learner: expected a non-empty image batch [B, C, H, W] (got shape ", images.sizes(), ")");
  const int64_t batch = images.size(0), classes = model_->num_classes();
  TORCH_CHECK_VALUE(labels.dim() == 1 && labels.size(0) == batch, "learner: expected ", batch, " labels (got ",
                    labels.numel(), ")");
  TORCH_CHECK_VALUE(labels.scalar_type() == at::kLong && labels.device().is_cpu(),
                    "learner: expected int64 CPU labels");
  const int64_t low = labels.min().item<int64_t>(), high = labels.max().item<int64_t>();
  TORCH_CHECK_VALUE(low >= 0 && high < classes, "learner: expected labels from 0 to ", classes - 1, " (got ",
                    low < 0 ? low : high, ")");

  model_->check_input(images);
  model_->train();
  if (counters_.micro_step == 0) optimizer_->zero_grad(/*set_to_none=*/true);
  const bool sync = counters_.micro_step + 1 >= options_.accumulation_steps;
  if (data_parallel_) {
    SyncTrainable();
    data_parallel_->before_forward(sync);
    // DDP's broadcast_buffers: every rank trains and evaluates with rank 0's BatchNorm statistics.
    if (sync) data_parallel_->broadcast_from_rank0(model_->buffers(/*recurse=*/true));
  }
  at::Tensor logits;
  {
    compat::AutocastGuard guard(autocast_.device_type, autocast_.dtype, autocast_.enabled);
    logits = model_->forward(images);
  }
  const auto loss = ClassificationLoss(logits, labels.to(device_), options_.loss);
  TrainStepResult result;
  if (keep_logits) result.logits = logits.detach().to(at::kFloat);
  result.loss = loss.item<double>();
  result.lr = optimizer_->scheduled_lrs(optimizer_->iteration() + 1).front();
  result.scale = scaler_ ? scaler_->scale_value() : 1.0;
  // Data-parallel under the loss scaler, the backward still runs: the inf reaches every rank through the
  // all-reduce and all of them skip the step together, where skipping here alone would leave the others waiting.
  if (!std::isfinite(result.loss) && !(data_parallel_ && scaler_)) {
    const int64_t micro = counters_.micro_step + 1;
    Discard();
    // Under the loss scaler an overflow is expected now and then: the whole accumulated step is skipped.
    TORCH_CHECK(scaler_ != nullptr, "learner: the loss is ", DescribeNonFinite(result.loss), " at step ",
                counters_.step + 1, " (micro-batch ", micro, " of ", options_.accumulation_steps,
                "); no update was made");
    scaler_->update(true);
    ++counters_.skipped_steps;
    result.skipped = result.stepped = true;
    result.scale = scaler_->scale_value();
    result.step = counters_.step;
    return result;
  }
  auto scaled = loss / static_cast<double>(options_.accumulation_steps);
  if (scaler_) scaled = scaler_->scale(scaled);
  if (data_parallel_) {
    data_parallel_->backward(scaled, sync);
    result.allreduce_seconds = data_parallel_->take_allreduce_seconds();
  } else {
    scaled.backward();
  }
  if (inject_nonfinite_.exchange(false)) {
    at::NoGradGuard no_grad;
    for (const auto& p : Parameters()) {
      if (!p.grad().defined()) continue;
      auto first = p.grad();
      while (first.dim() > 0) first = first.select(0, 0);
      first.fill_(std::numeric_limits<float>::infinity());
      break;
    }
  }
  counters_.samples += batch;
  ++counters_.micro_step;
  if (counters_.micro_step < options_.accumulation_steps) {
    result.step = counters_.step;
    result.micro_step = counters_.micro_step;
    return result;
  }
  return FinishStep(result);
}

TrainStepResult Learner::FinishStep(TrainStepResult result) {
  counters_.micro_step = 0;
  result.stepped = true;
  const bool finite = scaler_ ? !scaler_->unscale_and_check(Parameters()) : GradientsFinite();
  if (finite) {
    optimizer_->step();
    if (scaler_) scaler_->update(false);
    optimizer_->zero_grad(/*set_to_none=*/true);
    ++counters_.step;
    result.lr = optimizer_->last_lrs().front();
  } else {
    Discard();
    TORCH_CHECK(scaler_ != nullptr, "learner: non-finite gradients at step ", counters_.step + 1,
                "; no update was made");
    scaler_->update(true);
    ++counters_.skipped_steps;
    result.skipped = true;
  }
  result.step = counters_.step;
  result.scale = scaler_ ? scaler_->scale_value() : 1.0;
  return result;
}

at::Tensor Learner::eval_step(const at::Tensor& images) {
  TORCH_CHECK_VALUE(images.dim() == 4 && images.size(0) > 0,
                    "learner: expected a non-empty image batch [B, C, H, W] (got shape ", images.sizes(), ")");
  model_->check_input(images);
  model_->eval();
  c10::InferenceMode inference;
  compat::AutocastGuard guard(autocast_.device_type, autocast_.dtype, autocast_.enabled);
  return model_->forward(images).to(at::kFloat);
}

int64_t Learner::set_trainable(const std::string& pattern, bool trainable) {
  const auto re = MakeRegex(pattern);
  int64_t count = 0;
  for (auto& item : model_->named_parameters(/*recurse=*/true)) {
    if (!std::regex_search(item.key(), re)) continue;
    item.value().set_requires_grad(trainable);
    // A frozen parameter must not be stepped with gradients accumulated before it was frozen.
    if (!trainable) item.value().mutable_grad().reset();
    ++count;
  }
  return count;
}

std::vector<ParameterInfo> Learner::parameter_info() const {
  std::vector<ParameterInfo> out;
  for (const auto& item : model_->named_parameters(/*recurse=*/true)) {
    out.push_back({item.key(), item.value().sizes().vec(), item.value().requires_grad()});
  }
  return out;
}

}  // namespace foldtorch::train
