#include "train/model_bench.h"

#include <ATen/ATen.h>
#include <sys/resource.h>
#include <torch/optim/adamw.h>

#include <chrono>
#include <memory>

#include "compat.h"

namespace foldtorch::train {

namespace {

double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

// AdamW through PyTorch's fused kernel, as torch.optim.AdamW(fused=True) steps it (the timm side of the CPU bench):
// one pass per parameter. libtorch's torch::optim::AdamW runs a chain of ~5 ops per parameter instead, ~380 small
// OpenMP regions a step for EfficientNet-Lite0, which would time the optimizer's thread wake-ups more than the model.
class FusedAdamW {
 public:
  FusedAdamW(std::vector<at::Tensor> parameters, double lr) : parameters_(std::move(parameters)), lr_(lr) {
    for (const auto& p : parameters_) {
      exp_avg_.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
      exp_avg_sq_.push_back(at::zeros_like(p, at::MemoryFormat::Preserve));
      steps_.push_back(at::zeros({}, at::kFloat));
    }
  }

  void step() {
    std::vector<at::Tensor> parameters, grads, exp_avg, exp_avg_sq, steps;
    for (size_t i = 0; i < parameters_.size(); ++i) {
      if (!parameters_[i].grad().defined()) continue;
      parameters.push_back(parameters_[i]);
      grads.push_back(parameters_[i].grad());
      exp_avg.push_back(exp_avg_[i]);
      exp_avg_sq.push_back(exp_avg_sq_[i]);
      steps.push_back(steps_[i]);
    }
    at::NoGradGuard no_grad;
    at::_foreach_add_(steps, 1);
    // torch.optim.AdamW's defaults: betas (0.9, 0.999), weight decay 1e-2, eps 1e-8.
    at::_fused_adamw_(parameters, grads, exp_avg, exp_avg_sq, {}, steps, lr_, 0.9, 0.999, 1e-2, 1e-8,
                      /*amsgrad=*/false, /*maximize=*/false);
  }

  void zero_grad() {
    for (auto& p : parameters_) p.mutable_grad().reset();
  }

 private:
  std::vector<at::Tensor> parameters_, exp_avg_, exp_avg_sq_, steps_;
  double lr_;
};

// The bench's optimizer: the fused AdamW on the CPU; libtorch's AdamW elsewhere (the GPU bench's recorded runs).
class BenchOptimizer {
 public:
  BenchOptimizer(const std::vector<at::Tensor>& parameters, const c10::Device& device, double lr) {
    if (device.is_cpu())
      fused_ = std::make_unique<FusedAdamW>(parameters, lr);
    else
      libtorch_ = std::make_unique<torch::optim::AdamW>(parameters, torch::optim::AdamWOptions(lr));
  }
  void step() { fused_ ? fused_->step() : (void)libtorch_->step(); }
  void zero_grad() { fused_ ? fused_->zero_grad() : libtorch_->zero_grad(/*set_to_none=*/true); }

 private:
  std::unique_ptr<FusedAdamW> fused_;
  std::unique_ptr<torch::optim::AdamW> libtorch_;
};

void Step(ClassifierImpl& model, BenchOptimizer* optimizer, const at::Tensor& x, const at::Tensor& y,
          const ModelBenchRequest& r, const c10::Device& device) {
  const bool autocast = r.precision != Precision::kFp32;
  const c10::ScalarType dtype = PrecisionDtype(r.precision);
  if (!r.train) {
    at::InferenceMode inference;
    compat::AutocastGuard guard(device.type(), dtype, autocast);
    (void)model.forward(x);
    return;
  }
  at::Tensor loss;
  {
    compat::AutocastGuard guard(device.type(), dtype, autocast);
    loss = at::cross_entropy_loss(model.forward(x), y);
  }
  loss.backward();
  optimizer->step();
  optimizer->zero_grad();
}

}  // namespace

ModelBenchTimes BenchmarkModel(ClassifierImpl& model, const c10::Device& device, bool channels_last,
                               const ModelBenchRequest& request) {
  TORCH_CHECK_VALUE(request.batch >= 1 && request.warmup >= 0 && request.iterations >= 1,
                    "Expected batch >= 1, warmup >= 0 and iterations >= 1 for benchmark options");
  TrainingModeGuard mode(model, request.train);
  const ImageSize size = model.img_size();
  auto x = at::randn({request.batch, 3, size.height, size.width}, at::TensorOptions().device(device));
  if (channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
  auto y = at::randint(std::max<int64_t>(model.num_classes(), 1), {request.batch},
                       at::TensorOptions().dtype(at::kLong).device(device));
  std::unique_ptr<BenchOptimizer> optimizer;
  if (request.train) optimizer = std::make_unique<BenchOptimizer>(model.parameters(), device, 1e-5);
  ModelBenchTimes times;
  for (int64_t i = 0; i < request.warmup + request.iterations; ++i) {
    compat::synchronize(device);
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = ProcessCpuSeconds();
    Step(model, optimizer.get(), x, y, request, device);
    compat::synchronize(device);
    if (i < request.warmup) continue;
    times.seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    times.cpu_seconds.push_back(ProcessCpuSeconds() - cpu_start);
  }
  return times;
}

double MatmulGflops(int64_t size, int64_t repeats, c10::ScalarType dtype, const c10::Device& device) {
  auto options = at::TensorOptions().dtype(dtype).device(device);
  auto a = at::randn({size, size}, options), b = at::randn({size, size}, options);
  at::mm(a, b);  // warm-up
  compat::synchronize(device);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < repeats; ++i) at::mm(a, b);
  compat::synchronize(device);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return 2.0 * size * size * size * repeats / seconds / 1e9;
}

}  // namespace foldtorch::train
