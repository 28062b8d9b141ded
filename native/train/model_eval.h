// A model's evaluation computations on device tensors: TTA views (ttach's flips and rot90s), the named outputs
// that parity checks read, and one loss-and-gradients pass. The bridge reads arguments and converts results;
// these do the work, each restoring the model's train/eval mode and gradients as it found them.
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <vector>

#include "models/model.h"

namespace foldtorch::train {

// Inference autocast: on at the precision's dtype for bfloat16 and float16 (no loss scaler at inference).
struct EvalPrecision {
  bool autocast = false;
  c10::ScalarType dtype = c10::ScalarType::Float;
};

struct TtaView {
  bool hflip = false, vflip = false;
  int64_t rot = 0;  // quarter turns counter-clockwise over (H, W), 0..3
};

// Logits (or pre-logits) of normalised images on the model's device, in eval and inference mode under
// `precision`'s autocast.
at::Tensor ForwardLogits(ClassifierImpl& model, const at::Tensor& images, bool pre_logits, EvalPrecision precision);

// ttach order: hflip (W), then vflip (H), then rot90 `rot` times.
at::Tensor ApplyView(const at::Tensor& images, const TtaView& view);

// float32 logits [views, batch, classes] of each view of `images` (normalised, on the model's device), in eval
// and inference mode under `precision`'s autocast.
at::Tensor ForwardViews(ClassifierImpl& model, const at::Tensor& images, const std::vector<TtaView>& views,
                        bool channels_last, EvalPrecision precision);

// features, pre_logits and logits through forward's own path (e.g. BatchNorm folded into convolutions), or
// with `intermediates` every named stage output of forward_intermediates; on the model's device.
// `fused_attention` false selects the explicit attention path where the model has one.
NamedOutputs ForwardOutputs(ClassifierImpl& model, const at::Tensor& images, bool intermediates, bool fused_attention,
                            EvalPrecision precision);

struct LossAndGradients {
  double loss = 0;
  at::Tensor logits;      // on the model's device, as the forward gave them
  NamedOutputs grads;     // per parameter; parameters without a gradient are left out
  at::Tensor grad_input;  // d loss / d images
};

// Cross-entropy of one forward (train mode when `train`: batch statistics, running-stat updates, dropout),
// autocast on the forward only, backward outside it as in training. The caller's accumulated gradients are
// restored afterwards. targets are int64 on the model's device.
LossAndGradients ComputeLossAndGradients(ClassifierImpl& model, const at::Tensor& images, const at::Tensor& targets,
                                         bool train, EvalPrecision precision);

}  // namespace foldtorch::train
