// The Learner: one classifier, its Ranger21 optimizer, the loss, autocast and (fp16) the gradient scaler on one
// device, stepping one micro-batch at a time with gradient accumulation.
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/model.h"
#include "train/complement_ce.h"
#include "train/data_parallel.h"
#include "train/grad_scaler.h"
#include "train/ranger21.h"

namespace foldtorch::train {

// Parameters whose name matches `pattern` (ECMAScript regex, searched) form their own optimizer group; the
// first matching rule wins and the rest stay in the default group, which comes last.
struct ParamGroupRule {
  std::string pattern;
  std::optional<double> lr;
  std::optional<double> weight_decay;
};

struct LearnerOptions {
  Ranger21Options optimizer;
  std::vector<ParamGroupRule> param_groups;
  LossOptions loss;
  Precision precision = Precision::kFp32;
  GradScalerOptions scaler;
  // Test hook: run the loss scaler although the precision does not need it (exercises it on CPU).
  bool force_grad_scaler = false;
  int64_t accumulation_steps = 1;
  // Seeds the process' default generators (CPU and CUDA) when the Learner is made.
  std::optional<uint64_t> seed;
  // Train data-parallel in the process group made by InitDataParallel (rank 0's weights are broadcast at the start).
  bool data_parallel = false;
};

struct TrainStepResult {
  double loss = 0;         // this micro-batch's mean loss (unscaled)
  double lr = 0;           // the first group's lr of the step this micro-batch belongs to
  double scale = 1;        // the loss scale after this call (1 without a scaler)
  bool skipped = false;    // the optimizer step was skipped (inf/NaN gradients under the scaler)
  bool stepped = false;    // this call completed an optimizer step (taken or skipped)
  int64_t step = 0;        // optimizer steps taken so far
  int64_t micro_step = 0;  // micro-batches accumulated toward the next step
  at::Tensor logits;       // float32 [B, classes], detached, on the device (only when asked for)
  double allreduce_seconds =
      0;  // data-parallel: time the gradient all-reduces of this call took (overlapping backward)
};

struct LearnerCounters {
  int64_t step = 0;           // optimizer steps taken
  int64_t micro_step = 0;     // micro-batches since the last step
  int64_t skipped_steps = 0;  // steps skipped by the scaler
  int64_t samples = 0;        // images trained on
};

struct ParameterInfo {
  std::string name;
  std::vector<int64_t> shape;
  bool trainable = true;
};

class Learner {
 public:
  Learner(Classifier model, c10::Device device, LearnerOptions options);

  // images: normalised float [B, 3, H, W] on the device; labels: int64 [B] on the CPU, in [0, num_classes).
  // keep_logits returns this micro-batch's training logits too (for a running train AUC).
  TrainStepResult train_step(const at::Tensor& images, const at::Tensor& labels, bool keep_logits = false);
  // float32 logits [B, num_classes] (eval mode, no autograd, same autocast as training).
  at::Tensor eval_step(const at::Tensor& images);

  // requires_grad for every parameter whose name matches `pattern` (ECMAScript regex, searched); the count.
  int64_t set_trainable(const std::string& pattern, bool trainable);
  std::vector<ParameterInfo> parameter_info() const;
  // Test hook: the next backward's first gradient gets an inf.
  void inject_nonfinite_gradient() { inject_nonfinite_.store(true); }

  const Classifier& model() const { return model_; }
  const c10::Device& device() const { return device_; }
  const LearnerOptions& options() const { return options_; }
  Ranger21& optimizer() { return *optimizer_; }
  const Ranger21& optimizer() const { return *optimizer_; }
  // Null when the precision needs no scaler (and the test hook is off).
  GradScaler* scaler() { return scaler_.get(); }
  const GradScaler* scaler() const { return scaler_.get(); }
  const AutocastMode& autocast() const { return autocast_; }
  // Parameter names in the optimizer's order (groups in order, then position).
  const std::vector<std::string>& optimizer_param_names() const { return optimizer_names_; }
  LearnerCounters counters() const { return counters_; }
  void set_counters(const LearnerCounters& counters) { counters_ = counters; }

 private:
  void BuildOptimizer();
  std::vector<at::Tensor> Parameters() const;
  bool GradientsFinite();
  TrainStepResult FinishStep(TrainStepResult result);
  void Discard();
  void SyncTrainable();

  Classifier model_;
  c10::Device device_;
  LearnerOptions options_;
  AutocastMode autocast_;
  std::unique_ptr<Ranger21> optimizer_;
  std::unique_ptr<GradScaler> scaler_;
  std::vector<std::string> optimizer_names_;
  LearnerCounters counters_;
  std::atomic<bool> inject_nonfinite_{false};
  std::shared_ptr<DataParallel> data_parallel_;
  std::vector<const void*> reduced_;  // the parameters the gradient reducer holds, to rebuild it when freezing changes
};

}  // namespace foldtorch::train
