#include "train/model_eval.h"

#include <ATen/ATen.h>

#include "compat.h"

namespace foldtorch::train {

namespace {

// Selects the attention path for one call and restores SDPA, the default, afterwards.
class AttentionGuard {
 public:
  AttentionGuard(ClassifierImpl& model, bool fused) : model_(model) { model_.set_fused_attention(fused); }
  ~AttentionGuard() { model_.set_fused_attention(true); }
  AttentionGuard(const AttentionGuard&) = delete;
  AttentionGuard& operator=(const AttentionGuard&) = delete;

 private:
  ClassifierImpl& model_;
};

}  // namespace

at::Tensor ApplyView(const at::Tensor& images, const TtaView& view) {
  at::Tensor out = images;
  if (view.hflip) out = out.flip({3});
  if (view.vflip) out = out.flip({2});
  if (view.rot != 0) out = at::rot90(out, view.rot, {2, 3});
  return out;
}

at::Tensor ForwardLogits(ClassifierImpl& model, const at::Tensor& images, bool pre_logits, EvalPrecision precision) {
  TrainingModeGuard eval(model, false);
  at::InferenceMode inference;
  compat::AutocastGuard autocast(images.device().type(), precision.dtype, precision.autocast);
  return model.forward_head(model.forward_features(images), pre_logits);
}

at::Tensor ForwardViews(ClassifierImpl& model, const at::Tensor& images, const std::vector<TtaView>& views,
                        bool channels_last, EvalPrecision precision) {
  TrainingModeGuard eval(model, false);
  at::InferenceMode inference;
  compat::AutocastGuard autocast(images.device().type(), precision.dtype, precision.autocast);
  std::vector<at::Tensor> logits;
  for (const auto& view : views) {
    auto viewed = ApplyView(images, view);
    if (channels_last) viewed = viewed.contiguous(at::MemoryFormat::ChannelsLast);
    logits.push_back(model.forward(viewed).to(at::kFloat));
  }
  return at::stack(logits, 0);
}

NamedOutputs ForwardOutputs(ClassifierImpl& model, const at::Tensor& images, bool intermediates, bool fused_attention,
                            EvalPrecision precision) {
  TrainingModeGuard eval(model, false);
  at::InferenceMode inference;
  AttentionGuard attention_path(model, fused_attention);
  NamedOutputs outputs;
  {
    compat::AutocastGuard autocast(images.device().type(), precision.dtype, precision.autocast);
    if (intermediates) {
      outputs = model.forward_intermediates(images);
    } else {
      auto features = model.forward_features(images);
      outputs = {{"features", features},
                 {"pre_logits", model.forward_head(features, true)},
                 {"logits", model.forward_head(features, false)}};
    }
  }
  return outputs;
}

LossAndGradients ComputeLossAndGradients(ClassifierImpl& model, const at::Tensor& images, const at::Tensor& targets,
                                         bool train, EvalPrecision precision) {
  TrainingModeGuard mode(model, train);
  at::AutoGradMode grad_mode(true);
  auto params = model.named_parameters();
  std::vector<at::Tensor> saved;  // the caller's accumulated gradients, restored afterwards
  for (auto& p : params) {
    saved.push_back(p.value().grad());
    p.value().mutable_grad() = at::Tensor();
  }
  auto x = images.detach().requires_grad_(true);
  at::Tensor loss, logits;
  {
    compat::AutocastGuard autocast(images.device().type(), precision.dtype, precision.autocast);
    logits = model.forward(x);
    loss = at::cross_entropy_loss(logits, targets);
  }
  loss.backward();
  LossAndGradients result;
  result.loss = loss.item<double>();
  result.logits = logits.detach();
  size_t i = 0;
  for (auto& p : params) {
    if (p.value().grad().defined()) result.grads.emplace_back(p.key(), p.value().grad());
    p.value().mutable_grad() = saved[i++];
  }
  result.grad_input = x.grad();
  return result;
}

}  // namespace foldtorch::train
