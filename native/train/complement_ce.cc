// Complement Cross Entropy in log space. For row i with target g, p_j / (1 - p_g) is exactly the softmax of
// the non-target logits, so the reference's division by 1 - p_g (zero in fp32 once p_g rounds to 1, a
// margin above ~17) never happens here.
#include "train/complement_ce.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include <cmath>
#include <limits>

namespace foldtorch::train {

namespace {

void CheckInputs(const at::Tensor& logits, const at::Tensor& targets) {
  TORCH_CHECK(logits.dim() == 2, "loss: expected logits [batch, classes] (got ", logits.dim(), " dimensions)");
  TORCH_CHECK(logits.size(0) > 0, "loss: expected a non-empty batch");
  TORCH_CHECK(targets.dim() == 1 && targets.size(0) == logits.size(0), "loss: expected ", logits.size(0),
              " targets (got shape ", targets.sizes(), ")");
  TORCH_CHECK(targets.scalar_type() == at::kLong, "loss: expected int64 targets (got ", targets.scalar_type(), ")");
}

}  // namespace

at::Tensor ComplementEntropyTerm(const at::Tensor& logits_in, const at::Tensor& targets, CceVariant variant) {
  CheckInputs(logits_in, targets);
  const int64_t batch = logits_in.size(0), classes = logits_in.size(1);
  TORCH_CHECK_VALUE(classes >= 2, "loss: complement cross entropy needs at least 2 classes (got ", classes, ")");
  const auto logits = logits_in.to(at::kFloat);
  const auto is_target = at::one_hot(targets, classes).to(at::kBool);
  const auto others = logits.masked_fill(is_target, -std::numeric_limits<float>::infinity());
  // log q_ij = log p_ij - log(1 - p_ig) over j != g; q is 0 in the target column.
  auto q = at::log_softmax(others, 1).exp();
  at::Tensor complement;
  if (variant == CceVariant::kHead) {
    complement = q + 1e-7;
  } else {
    // P = q * s / (s + 1e-7) with s = 1 - p_g; s / (s + 1e-7) = sigmoid(log s - log 1e-7), and
    // log s = -softplus(x_g - logsumexp_{j != g} x_j) has no cancellation.
    const auto target_logit = logits.gather(1, targets.unsqueeze(1));
    const auto log_s = -at::softplus(target_logit - at::logsumexp(others, 1, true));
    complement = q * at::sigmoid(log_s - std::log(1e-7));
  }
  const auto terms = complement * at::log(complement + 1e-10);
  const auto masked = at::where(is_target, at::zeros_like(terms), terms);
  return masked.sum() / (static_cast<double>(batch) * static_cast<double>(classes));
}

at::Tensor ClassificationLoss(const at::Tensor& logits_in, const at::Tensor& targets, const LossOptions& options) {
  CheckInputs(logits_in, targets);
  const auto logits = logits_in.to(at::kFloat);
  TORCH_CHECK_VALUE(options.label_smoothing >= 0 && options.label_smoothing <= 1,
                    "loss: expected label_smoothing in [0, 1] (got ", options.label_smoothing, ")");
  auto loss = at::cross_entropy_loss(logits, targets, {}, at::Reduction::Mean, -100, options.label_smoothing);
  if (options.kind == LossKind::kComplementCrossEntropy) {
    loss = loss - options.balancing_factor * ComplementEntropyTerm(logits, targets, options.variant);
  }
  return loss;
}

LossWithGradient ClassificationLossWithGradient(const at::Tensor& logits_in, const at::Tensor& targets,
                                                const LossOptions& options) {
  TORCH_CHECK_VALUE(targets.size(0) == logits_in.size(0), "loss: expected ", logits_in.size(0), " targets (got ",
                    targets.size(0), ")");
  TORCH_CHECK_VALUE(targets.min().item<int64_t>() >= 0 && targets.max().item<int64_t>() < logits_in.size(1),
                    "loss: expected targets in [0, ", logits_in.size(1), ")");
  at::AutoGradMode enable_grad(true);
  at::Tensor logits = logits_in.detach().requires_grad_(true);
  at::Tensor loss = ClassificationLoss(logits, targets, options);
  loss.backward();
  LossWithGradient result{loss.item<double>(), 0.0, logits.grad()};
  if (options.kind == LossKind::kComplementCrossEntropy) {
    at::NoGradGuard no_grad;
    result.complement_term = ComplementEntropyTerm(logits, targets, options.variant).item<double>();
  }
  return result;
}

}  // namespace foldtorch::train
