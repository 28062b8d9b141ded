// Classification losses: Complement Cross Entropy (unique-chan/Complement-Cross-Entropy, both published
// variants, any number of classes) computed in log space so it stays finite where the reference NaNs, plus
// plain cross-entropy with optional label smoothing.
#pragma once

#include <ATen/Tensor.h>

namespace foldtorch::train {

enum class LossKind { kCrossEntropy, kComplementCrossEntropy };

// kHead: cce.py @838e86dd, P = p / (1 - p_g) + 1e-7. kV2021: the paper-era ComplementEntropy @79a50371,
// P = p / ((1 - p_g) + 1e-7), combined as CE + gamma * term with gamma = -1.
enum class CceVariant { kHead, kV2021 };

struct LossOptions {
  LossKind kind = LossKind::kComplementCrossEntropy;
  CceVariant variant = CceVariant::kHead;
  // loss = CE - balancing_factor * S / (B * K); the authors use 1 (head) and gamma = -1 (v2021), the same sign.
  double balancing_factor = 1.0;
  double label_smoothing = 0.0;
};

// S / (B * K) with S = sum over rows i and non-target classes j of P_ij * log(P_ij + 1e-10): the reference's
// "complement entropy" value (its sign included), differentiable, computed in float32.
at::Tensor ComplementEntropyTerm(const at::Tensor& logits, const at::Tensor& targets, CceVariant variant);

// Mean loss over the batch, float32 whatever the logits' dtype. logits [B, K], targets int64 [B] in [0, K).
at::Tensor ClassificationLoss(const at::Tensor& logits, const at::Tensor& targets, const LossOptions& options);

struct LossWithGradient {
  double loss = 0;
  double complement_term = 0;  // ComplementEntropyTerm for CCE, 0 for plain cross-entropy
  at::Tensor grad;             // d loss / d logits
};

// The loss of float32 logits, its gradient with respect to them and the complement term: for parity checks.
// Throws c10::ValueError when targets do not match the logits' rows or classes.
LossWithGradient ClassificationLossWithGradient(const at::Tensor& logits, const at::Tensor& targets,
                                                const LossOptions& options);

}  // namespace foldtorch::train
