// Model.benchmark: timed forward (inference) or training steps (forward, cross-entropy, backward, AdamW) on
// random input, for bench/model.ts; training steps change the weights.
#include <ATen/ATen.h>
#include <torch/optim/adamw.h>

#include <sys/resource.h>

#include <chrono>

#include "bridge/compute_thread.h"
#include "bridge/errors.h"
#include "bridge/model_state.h"
#include "bridge/options.h"
#include "compat.h"

namespace foldtorch::bridge {

namespace {

struct BenchRequest {
  int64_t batch = 1, warmup = 1, iterations = 3;
  bool train = false;
  bool autocast = false;
  c10::ScalarType dtype = c10::ScalarType::Float;
};

BenchRequest ParseBenchRequest(const OptionReader& options) {
  BenchRequest r;
  r.batch = options.Integer("batch");
  r.warmup = options.Integer("warmup", 1);
  r.iterations = options.Integer("iterations", 3);
  const std::string mode = options.String("mode");
  const std::string precision = options.String("precision", "float32");
  if (mode != "forward" && mode != "train") ThrowRangeError(options.env(), "Expected \"forward\" or \"train\" for benchmark options.mode but received \"" + mode + "\"");
  if (precision != "float32" && precision != "bfloat16" && precision != "float16") {
    ThrowRangeError(options.env(), "Expected \"float32\", \"bfloat16\" or \"float16\" for benchmark options.precision but received \"" + precision + "\"");
  }
  if (r.batch < 1 || r.warmup < 0 || r.iterations < 1) ThrowRangeError(options.env(), "Expected batch >= 1, warmup >= 0 and iterations >= 1 for benchmark options");
  r.train = mode == "train";
  r.autocast = precision != "float32";
  r.dtype = precision == "bfloat16" ? c10::ScalarType::BFloat16 : precision == "float16" ? c10::ScalarType::Half : c10::ScalarType::Float;
  return r;
}

// One step; returns nothing, the caller times it.
void Step(ClassifierImpl& model, torch::optim::AdamW* optimizer, const at::Tensor& x, const at::Tensor& y, const BenchRequest& r,
          const c10::Device& device) {
  if (!r.train) {
    at::InferenceMode inference;
    compat::AutocastGuard autocast(device.type(), r.dtype, r.autocast);
    auto logits = model.forward(x);
    (void)logits;
    return;
  }
  at::Tensor loss;
  {
    compat::AutocastGuard autocast(device.type(), r.dtype, r.autocast);
    loss = at::cross_entropy_loss(model.forward(x), y);
  }
  loss.backward();
  optimizer->step();
  optimizer->zero_grad(/*set_to_none=*/true);
}

// User + system CPU time of the whole process (all intra-op threads), in seconds.
double ProcessCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

struct BenchTimes {
  std::vector<double> seconds, cpu_seconds;
};

}  // namespace

Napi::Value ModelWrap::Benchmark(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModelHandle handle = Live(env);
  OptionReader options(env, info[0], "benchmark options");
  const BenchRequest request = ParseBenchRequest(options);
  // The input in the layout the model was created with (its weights' layout), as Model.forward feeds it.
  const bool channels_last = state_->channels_last;
  AsyncCall<BenchTimes> call(env, handle.device);
  return call.Run(
      [handle, request, channels_last] {
        auto& model = *handle.module;
        const bool was_training = model.is_training();
        model.train(request.train);
        const ImageSize size = model.img_size();
        auto x = at::randn({request.batch, 3, size.height, size.width}, at::TensorOptions().device(handle.device));
        if (channels_last) x = x.contiguous(at::MemoryFormat::ChannelsLast);
        auto y = at::randint(std::max<int64_t>(model.num_classes(), 1), {request.batch}, at::TensorOptions().dtype(at::kLong).device(handle.device));
        std::unique_ptr<torch::optim::AdamW> optimizer;
        if (request.train) optimizer = std::make_unique<torch::optim::AdamW>(model.parameters(), torch::optim::AdamWOptions(1e-5));
        BenchTimes times;
        for (int64_t i = 0; i < request.warmup + request.iterations; ++i) {
          compat::synchronize(handle.device);
          const auto start = std::chrono::steady_clock::now();
          const double cpu_start = ProcessCpuSeconds();
          Step(model, optimizer.get(), x, y, request, handle.device);
          compat::synchronize(handle.device);
          if (i < request.warmup) continue;
          times.seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
          times.cpu_seconds.push_back(ProcessCpuSeconds() - cpu_start);
        }
        model.train(was_training);
        return times;
      },
      [](Napi::Env env, BenchTimes& times) -> Napi::Value {
        Napi::Array seconds = Napi::Array::New(env, times.seconds.size()), cpu = Napi::Array::New(env, times.cpu_seconds.size());
        for (size_t i = 0; i < times.seconds.size(); ++i) {
          seconds.Set(static_cast<uint32_t>(i), times.seconds[i]);
          cpu.Set(static_cast<uint32_t>(i), times.cpu_seconds[i]);
        }
        Napi::Object out = Napi::Object::New(env);
        out.Set("seconds", seconds);
        out.Set("cpuSeconds", cpu);
        return out;
      });
}

}  // namespace foldtorch::bridge
