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

void Step(ClassifierImpl& model, torch::optim::AdamW* optimizer, const at::Tensor& x, const at::Tensor& y,
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
  optimizer->zero_grad(/*set_to_none=*/true);
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
  std::unique_ptr<torch::optim::AdamW> optimizer;
  if (request.train)
    optimizer = std::make_unique<torch::optim::AdamW>(model.parameters(), torch::optim::AdamWOptions(1e-5));
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
