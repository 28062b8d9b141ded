// doctor(), setNumThreads(), imagesToTensor() and matmulBenchmark(): the addon's process-level calls.
#include "bridge/runtime.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/cpu/Utils.h>
#include <malloc.h>
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "bridge/compute_thread.h"
#include "bridge/device_runtime.h"
#include "bridge/options.h"
#include "bridge/tensor_bridge.h"
#include "compat.h"
#include "models/layers/batch_norm_act_cpu.h"
#include "models/layers/cpu_kernels.h"
#include "models/layers/depthwise_conv_cpu.h"
#include "train/cpu_block_cache.h"
#include "train/model_bench.h"
#include "train/precision.h"

namespace foldtorch::bridge {

namespace {

int AvailableCores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  return static_cast<int>(std::thread::hardware_concurrency());
}

// FOLDTORCH_CPU_CACHE_MB: the most MiB the CPU block cache keeps idle (0 = libtorch's own allocator); default a
// quarter of physical memory. A value that is not a whole number is ignored with a warning, not a failed load.
int64_t CpuCacheCapacityFromEnvironment() {
  const int64_t physical = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  const int64_t fallback = physical > 0 ? physical / 4 : int64_t{4} << 30;
  const char* text = std::getenv("FOLDTORCH_CPU_CACHE_MB");
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  const long long mib = std::strtoll(text, &end, 10);
  if (*end != '\0' || mib < 0) {
    std::fprintf(
        stderr,
        "foldtorch: ignoring FOLDTORCH_CPU_CACHE_MB=\"%s\" (expected a whole number of MiB, 0 to turn the cache off)\n",
        text);
    return fallback;
  }
  return static_cast<int64_t>(mib) << 20;
}

int ThreadsFromEnvironment() {
  if (const char* text = std::getenv("FOLDTORCH_NUM_THREADS")) {
    const int value = std::atoi(text);
    if (value > 0) return value;
  }
  return AvailableCores();
}

bool CpuHasFlag(const std::string& flag) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("flags", 0) == 0) return (" " + line + " ").find(" " + flag + " ") != std::string::npos;
  }
  return false;
}

std::string ConfigValue(const std::string& config, const std::string& key) {
  const auto at = config.find(key + "=");
  if (at == std::string::npos) return "";
  const auto begin = at + key.size() + 1;
  const auto end = config.find_first_of(",\n", begin);
  return config.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

struct DoctorReport {
  int compute_thread_threads = 0;
  int kernel_threads = 0;
};

Napi::Value Doctor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AsyncCall<DoctorReport> call(env, c10::Device(c10::kCPU));
  return call.Run(
      [] {
        const int threads = at::get_num_threads();
        return DoctorReport{threads, layers::cpu_kernels::ThreadsRunningChunks(threads)};
      },
      [](Napi::Env env, DoctorReport& report) -> Napi::Value {
        const std::string config = at::show_config();
        Napi::Object out = Napi::Object::New(env);
        out.Set("torchVersion", compat::torch_version());
        out.Set("builtWithCuda", compat::kBuiltWithCuda);
        out.Set("cudaAvailable", compat::cuda_available());
        Napi::Array devices = Napi::Array::New(env);
        uint32_t i = 0;
        bool cuda_bf16 = false;
        for (const auto& device : compat::cuda_devices()) {
          Napi::Object d = Napi::Object::New(env);
          d.Set("index", i);
          d.Set("name", device.name);
          d.Set("computeCapability", std::to_string(device.major) + "." + std::to_string(device.minor));
          d.Set("totalMemory", static_cast<double>(device.total_memory));
          cuda_bf16 = cuda_bf16 || device.major >= 8;
          devices.Set(i++, d);
        }
        out.Set("cudaDevices", devices);
        out.Set("cpuCapability", at::get_cpu_capability());
        const bool cpu_bf16 = CpuHasFlag("avx512_bf16") || CpuHasFlag("amx_bf16");
        Napi::Object bf16 = Napi::Object::New(env);
        bf16.Set("cpu", cpu_bf16);
        bf16.Set("cpuNative", cpu_bf16 ? "avx512_bf16/amx" : "emulated (fp32 compute)");
        bf16.Set("cuda", cuda_bf16);
        out.Set("bf16", bf16);
        out.Set("intraOpThreads", report.compute_thread_threads);
        out.Set("kernelThreads", report.kernel_threads);
        out.Set("availableCores", AvailableCores());
        out.Set("interOpThreads", at::get_num_interop_threads());
        std::string blas = ConfigValue(config, "BLAS_INFO");
        out.Set("blas", blas.empty() ? (at::hasMKL() ? "mkl" : "unknown") : blas);
        out.Set("lapack", ConfigValue(config, "LAPACK_INFO"));
        out.Set("mkldnn", at::hasMKLDNN());
        out.Set("openmp", at::hasOpenMP());
        out.Set("cxxFlags", ConfigValue(config, "CXX_FLAGS"));
        out.Set("buildConfig", config);
        out.Set("parallelInfo", at::get_parallel_info());
        return out;
      });
}

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber())
    ThrowTypeError(env, "Expected a number for threads but received " + DescribeValue(info[0]));
  const int threads = info[0].As<Napi::Number>().Int32Value();
  if (threads < 1 || threads > 1024)
    ThrowRangeError(env, "Expected an integer from 1 to 1024 for threads but received " + std::to_string(threads));
  ComputeThread::SetIntraOpThreads(threads);
  return env.Undefined();
}

// images (uint8 NHWC) → normalised NCHW float tensor on the device → back: the bridge's round trip.
Napi::Value ImagesToTensorCall(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OptionReader options(env, info[1], "imagesToTensor options");
  ImageBatch images = ReadImageBatch(env, info[0], options.IntegerArray("shape"), "images");
  train::BatchTransform transform = ReadNormalization(env, options.NumberArray("mean"), options.NumberArray("std"),
                                                      images.channels, "imagesToTensor options");
  transform.augment = ReadBatchAugment(env, options.Raw("augment"), images, "imagesToTensor options.augment");
  const c10::Device device = options.Device();
  const bool channels_last = options.Bool("channelsLast", false);
  AsyncCall<at::Tensor> call(env, device);
  call.Keep(info[0]);
  return call.Run([=] { return ToHostFloat(train::TransformBatch(images, transform, device, channels_last)); },
                  [](Napi::Env env, at::Tensor& host) -> Napi::Value { return HostTensorToJs(env, host); });
}

// A long, real native op for measuring throughput and event-loop responsiveness.
Napi::Value MatmulBenchmark(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OptionReader options(env, info[0], "matmulBenchmark options");
  const int64_t size = options.Integer("size");
  const int64_t repeats = options.Integer("repeats");
  if (size < 1 || size > 16384)
    ThrowRangeError(env, "Expected an integer from 1 to 16384 for size but received " + std::to_string(size));
  if (repeats < 1)
    ThrowRangeError(env, "Expected a positive integer for repeats but received " + std::to_string(repeats));
  const auto dtype = train::PrecisionDtype(ReadPrecision(options, "dtype"));
  const c10::Device device = options.Device();
  AsyncCall<double> call(env, device);
  return call.Run([=] { return train::MatmulGflops(size, repeats, dtype, device); },
                  [](Napi::Env env, double& gflops) -> Napi::Value { return Napi::Number::New(env, gflops); });
}

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// The test hooks' inputs: an [N, C, H, W] shape, and tensors given as arrays of numbers (float32).
std::vector<int64_t> ImageShapeOption(Napi::Env env, const OptionReader& options) {
  std::vector<int64_t> shape = options.IntegerArray("shape");
  if (shape.size() != 4) ThrowRangeError(env, "Expected [N, C, H, W] for shape");
  return shape;
}

// `key`'s numbers as a float32 tensor of `shape` (flat when none is given); a count that does not fit is a RangeError
// naming the key.
at::Tensor FloatTensorOption(Napi::Env env, const OptionReader& options, const char* key,
                             std::vector<int64_t> shape = {}) {
  const auto numbers = options.NumberArray(key);
  if (shape.empty()) shape = {static_cast<int64_t>(numbers.size())};
  int64_t count = 1;
  for (const int64_t size : shape) count *= size;
  if (count != static_cast<int64_t>(numbers.size()))
    ThrowRangeError(env, "Expected " + std::to_string(count) + " numbers for " + key + " but received " +
                             std::to_string(numbers.size()));
  return at::tensor(std::vector<float>(numbers.begin(), numbers.end())).reshape(shape);
}

// A test hook: one training-mode step of the fused CPU BatchNorm (+ ReLU6) on a small NCHW tensor given as numbers,
// in channels-last float32 or bfloat16 (the input rounded to it), with its backward for `grad`. Everything comes back
// as float32 NCHW, with the running statistics it updated.

Napi::Value BatchNormActTrainCheck(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OptionReader options(env, info[0], "batchNormActTrainCheck options");
  const std::vector<int64_t> shape = ImageShapeOption(env, options);
  const auto image = [&](const char* key) { return FloatTensorOption(env, options, key, shape); };
  const auto per_channel = [&](const char* key) { return FloatTensorOption(env, options, key, {shape[1]}); };
  const at::Tensor input = image("input"), grad = image("grad");
  const at::Tensor weight = per_channel("weight"), bias = per_channel("bias");
  const at::Tensor mean = per_channel("runningMean"), var = per_channel("runningVar");
  const double momentum = options.Number("momentum"), eps = options.Number("eps");
  const bool relu6 = options.Bool("relu6", true);
  const auto dtype = train::PrecisionDtype(ReadPrecision(options, "dtype"));
  AsyncCall<NamedTensors> call(env, c10::Device(c10::kCPU));
  return call.Run(
      [=] {
        at::AutoGradMode grad_mode(true);
        auto x = input.to(dtype).contiguous(at::MemoryFormat::ChannelsLast).requires_grad_(true);
        auto w = weight.clone().requires_grad_(true), b = bias.clone().requires_grad_(true);
        auto running_mean = mean.clone(), running_var = var.clone();
        TORCH_CHECK_VALUE(layers::fused_batch_norm_act_applies(x),
                          "batchNormActTrainCheck: the fused path does not take this input");
        auto y = layers::fused_batch_norm_act_train(x, w, b, running_mean, running_var, momentum, eps, relu6);
        y.backward(grad.to(dtype).contiguous(at::MemoryFormat::ChannelsLast));
        return NamedTensors{{"output", ToHostFloat(y)},
                            {"gradInput", ToHostFloat(x.grad())},
                            {"gradWeight", ToHostFloat(w.grad())},
                            {"gradBias", ToHostFloat(b.grad())},
                            {"runningMean", ToHostFloat(running_mean)},
                            {"runningVar", ToHostFloat(running_var)}};
      },
      [](Napi::Env env, NamedTensors& outputs) -> Napi::Value { return NamedToJs(env, outputs); });
}

// A test hook: one training-mode depthwise convolution on a small NCHW tensor given as numbers, in channels-last
// float32, or under bfloat16 autocast (float32 input, weight and optional bias, as a network's parameters are), with
// its backward for `grad`. Everything comes back as float32 NCHW.
Napi::Value DepthwiseConvTrainCheck(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OptionReader options(env, info[0], "depthwiseConvTrainCheck options");
  const std::vector<int64_t> shape = ImageShapeOption(env, options);
  const int64_t kernel = options.Integer("kernel"), stride = options.Integer("stride");
  // A number pads every side; [top, bottom, left, right] pads each its own.
  std::vector<int64_t> pads = options.Raw("padding").IsArray() ? options.IntegerArray("padding")
                                                               : std::vector<int64_t>(4, options.Integer("padding"));
  if (pads.size() != 4) ThrowRangeError(env, "Expected a number or [top, bottom, left, right] for padding");
  const layers::DepthwisePadding padding{pads[0], pads[1], pads[2], pads[3]};
  if (kernel < 1) ThrowRangeError(env, "Expected a positive kernel but received " + std::to_string(kernel));
  const at::Tensor input = FloatTensorOption(env, options, "input", shape);
  const at::Tensor weight = FloatTensorOption(env, options, "weight", {shape[1], 1, kernel, kernel});
  const at::Tensor bias = options.Has("bias") ? FloatTensorOption(env, options, "bias", {shape[1]}) : at::Tensor();
  // Flat: the output's size is the convolution's to work out, and a gradient that does not fit it fails there, worded.
  const at::Tensor grad = FloatTensorOption(env, options, "grad");
  const auto dtype = train::PrecisionDtype(ReadPrecision(options, "dtype"));
  AsyncCall<NamedTensors> call(env, c10::Device(c10::kCPU));
  return call.Run(
      [=] {
        at::AutoGradMode grad_mode(true);
        auto x = input.contiguous(at::MemoryFormat::ChannelsLast).requires_grad_(true);
        auto w = weight.clone().requires_grad_(true);
        auto b = bias.defined() ? bias.clone().requires_grad_(true) : bias;
        at::Tensor y;
        {
          compat::AutocastGuard autocast(c10::kCPU, dtype, dtype != at::kFloat);
          TORCH_CHECK_VALUE(layers::depthwise_conv_train_applies(x, w, b, shape[1]),
                            "depthwiseConvTrainCheck: the training path does not take this input");
          y = layers::depthwise_conv2d_train(x, w, b, stride, padding);
        }
        y.backward(grad.reshape(y.sizes()).to(y.scalar_type()).contiguous(at::MemoryFormat::ChannelsLast));
        NamedTensors outputs{
            {"output", ToHostFloat(y)}, {"gradInput", ToHostFloat(x.grad())}, {"gradWeight", ToHostFloat(w.grad())}};
        if (b.defined()) outputs.emplace_back("gradBias", ToHostFloat(b.grad()));
        return outputs;
      },
      [](Napi::Env env, NamedTensors& outputs) -> Napi::Value { return NamedToJs(env, outputs); });
}

// A test hook: turns the depthwise convolution's CPU training backward off (ATen's conv2d then) or on again; returns
// whether it was on.
Napi::Value UseDepthwiseBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBoolean()) ThrowTypeError(env, "Expected a boolean for useDepthwiseBackward");
  const bool was = layers::depthwise_backward_enabled();
  layers::set_depthwise_backward_enabled(info[0].As<Napi::Boolean>().Value());
  return Napi::Boolean::New(env, was);
}

// Raises a native exception of the given kind on the compute thread: proves failures become JS errors, not aborts.
Napi::Value RaiseNativeError(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string kind = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "error";
  AsyncCall<bool> call(env, c10::Device(c10::kCPU));
  return call.Run(
      [kind]() -> bool {
        if (kind == "type") TORCH_CHECK_TYPE(false, "selfcheck: a type error (got ", kind, ")");
        if (kind == "value") TORCH_CHECK_VALUE(false, "selfcheck: a value error (got ", kind, ")");
        if (kind == "shape") at::mm(at::ones({2, 3}), at::ones({2, 3}));
        TORCH_CHECK(false, "selfcheck: a native error (got ", kind, ")");
        return false;
      },
      [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
}

}  // namespace

void InitRuntime() {
  // Keep freed memory for reuse instead of returning it: each fresh page costs a slow fault on these VMs.
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
  mallopt(M_TOP_PAD, 64 * 1024 * 1024);
  // Tensors of 64 KiB and more go further: freed blocks are kept by size class for the next step.
  train::InstallCpuBlockCache(CpuCacheCapacityFromEnvironment());
  ComputeThread::SetIntraOpThreads(ThreadsFromEnvironment());
}

Napi::Object InitRuntimeExports(Napi::Env env, Napi::Object exports) {
  exports.Set("doctor", Napi::Function::New(env, Doctor, "doctor"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("imagesToTensor", Napi::Function::New(env, ImagesToTensorCall, "imagesToTensor"));
  exports.Set("raiseNativeError", Napi::Function::New(env, RaiseNativeError, "raiseNativeError"));
  exports.Set("batchNormActTrainCheck", Napi::Function::New(env, BatchNormActTrainCheck, "batchNormActTrainCheck"));
  exports.Set("useDepthwiseBackward", Napi::Function::New(env, UseDepthwiseBackward, "useDepthwiseBackward"));
  exports.Set("depthwiseConvTrainCheck", Napi::Function::New(env, DepthwiseConvTrainCheck, "depthwiseConvTrainCheck"));
  exports.Set("matmulBenchmark", Napi::Function::New(env, MatmulBenchmark, "matmulBenchmark"));
  InitDeviceExports(env, exports);
  return exports;
}

}  // namespace foldtorch::bridge
