// CPU and CUDA memory counters, the allocator caches, device synchronisation and TF32 switches, over compat.h.
#include "bridge/device_runtime.h"

#include <string>

#include "bridge/compute_thread.h"
#include "bridge/errors.h"
#include "bridge/options.h"
#include "compat.h"
#include "train/cpu_block_cache.h"

namespace foldtorch::bridge {

namespace {

c10::Device DeviceArgument(const Napi::CallbackInfo& info, const char* function) {
  if (info.Length() < 1 || !info[0].IsString()) {
    ThrowTypeError(info.Env(), std::string("Expected a device string for ") + function + " device but received " +
                                   DescribeValue(info[0]));
  }
  return ParseDevice(info.Env(), info[0].As<Napi::String>().Utf8Value(), std::string(function) + " device");
}

// Synchronous: the allocator's counters are updated when work is queued, so they need no device sync.
Napi::Value CudaMemoryStats(const Napi::CallbackInfo& info) {
  const c10::Device device = DeviceArgument(info, "cudaMemoryStats");
  return GuardedCall(info.Env(), [&]() -> Napi::Value {
    const auto stats = compat::cuda_memory_stats(device);
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("allocated", static_cast<double>(stats.allocated));
    out.Set("peak", static_cast<double>(stats.peak_allocated));
    out.Set("reserved", static_cast<double>(stats.reserved));
    out.Set("peakReserved", static_cast<double>(stats.peak_reserved));
    return out;
  });
}

Napi::Value ResetCudaPeakMemory(const Napi::CallbackInfo& info) {
  const c10::Device device = DeviceArgument(info, "resetCudaPeakMemory");
  return GuardedCall(info.Env(), [&]() -> Napi::Value {
    compat::reset_cuda_peak_memory(device);
    return info.Env().Undefined();
  });
}

// The CPU block cache's counters (native/train/cpu_block_cache.h); `installed` false when FOLDTORCH_CPU_CACHE_MB=0.
Napi::Value CpuMemoryStats(const Napi::CallbackInfo& info) {
  const auto stats = train::CpuBlockCacheStatistics();
  Napi::Object out = Napi::Object::New(info.Env());
  out.Set("installed", stats.installed);
  out.Set("capacity", static_cast<double>(stats.capacity_bytes));
  out.Set("idle", static_cast<double>(stats.idle_bytes));
  out.Set("inUse", static_cast<double>(stats.in_use_bytes));
  out.Set("hits", static_cast<double>(stats.hits));
  out.Set("misses", static_cast<double>(stats.misses));
  return out;
}

Napi::Value EmptyCpuCache(const Napi::CallbackInfo& info) {
  train::EmptyCpuBlockCache();
  return info.Env().Undefined();
}

Napi::Value EmptyCudaCache(const Napi::CallbackInfo& info) {
  return GuardedCall(info.Env(), [&]() -> Napi::Value {
    compat::empty_cuda_cache();
    return info.Env().Undefined();
  });
}

// Queued behind the device's earlier calls on its compute thread, then waits for the GPU: a timing fence.
Napi::Value SynchronizeDevice(const Napi::CallbackInfo& info) {
  const c10::Device device = DeviceArgument(info, "synchronizeDevice");
  AsyncCall<bool> call(info.Env(), device);
  return call.Run(
      [device] {
        compat::synchronize(device);
        return true;
      },
      [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
}

Napi::Value SetFloat32MatmulPrecision(const Napi::CallbackInfo& info) {
  const std::string value = info.Length() > 0 && info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (value != "highest" && value != "high") {
    ThrowRangeError(info.Env(),
                    "Expected \"highest\" or \"high\" for precision but received " + DescribeValue(info[0]));
  }
  return GuardedCall(info.Env(), [&]() -> Napi::Value {
    compat::set_float32_matmul_precision(value == "highest");
    return info.Env().Undefined();
  });
}

}  // namespace

void InitDeviceExports(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaMemoryStats", Napi::Function::New(env, CudaMemoryStats, "cudaMemoryStats"));
  exports.Set("resetCudaPeakMemory", Napi::Function::New(env, ResetCudaPeakMemory, "resetCudaPeakMemory"));
  exports.Set("cpuMemoryStats", Napi::Function::New(env, CpuMemoryStats, "cpuMemoryStats"));
  exports.Set("emptyCpuCache", Napi::Function::New(env, EmptyCpuCache, "emptyCpuCache"));
  exports.Set("emptyCudaCache", Napi::Function::New(env, EmptyCudaCache, "emptyCudaCache"));
  exports.Set("synchronizeDevice", Napi::Function::New(env, SynchronizeDevice, "synchronizeDevice"));
  exports.Set("setFloat32MatmulPrecision",
              Napi::Function::New(env, SetFloat32MatmulPrecision, "setFloat32MatmulPrecision"));
}

}  // namespace foldtorch::bridge
