// The one place for what differs between CPU and CUDA builds and between libtorch 2.x minor versions.
#pragma once

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <ATen/Context.h>
#include <torch/version.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#ifdef FOLDTORCH_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace foldtorch::compat {

inline constexpr bool kBuiltWithCuda =
#ifdef FOLDTORCH_WITH_CUDA
    true;
#else
    false;
#endif

// Autocast state is thread-local; the compute threads enter it per call. The device-typed API
// (set_autocast_enabled(DeviceType, bool)) exists since 2.4, which is our floor.
class AutocastGuard {
 public:
  AutocastGuard(c10::DeviceType device_type, c10::ScalarType dtype, bool enabled)
      : device_type_(device_type), enabled_(enabled) {
    if (!enabled_) return;
    previous_enabled_ = at::autocast::is_autocast_enabled(device_type_);
    previous_dtype_ = at::autocast::get_autocast_dtype(device_type_);
    at::autocast::set_autocast_enabled(device_type_, true);
    at::autocast::set_autocast_dtype(device_type_, dtype);
    at::autocast::increment_nesting();
  }
  ~AutocastGuard() {
    if (!enabled_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(device_type_, previous_enabled_);
    at::autocast::set_autocast_dtype(device_type_, previous_dtype_);
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  c10::DeviceType device_type_;
  bool enabled_;
  bool previous_enabled_ = false;
  c10::ScalarType previous_dtype_ = c10::ScalarType::Float;
};

inline bool cuda_available() { return at::hasCUDA() && at::globalContext().hasCUDA(); }

inline int64_t cuda_device_count() {
#ifdef FOLDTORCH_WITH_CUDA
  return cuda_available() ? static_cast<int64_t>(at::cuda::getNumGPUs()) : 0;
#else
  return 0;
#endif
}

struct CudaDeviceInfo {
  std::string name;
  int major = 0;
  int minor = 0;
  int64_t total_memory = 0;
};

inline std::vector<CudaDeviceInfo> cuda_devices() {
  std::vector<CudaDeviceInfo> devices;
#ifdef FOLDTORCH_WITH_CUDA
  for (int64_t i = 0; i < cuda_device_count(); ++i) {
    const auto* props = at::cuda::getDeviceProperties(static_cast<int>(i));
    devices.push_back({props->name, props->major, props->minor, static_cast<int64_t>(props->totalGlobalMem)});
  }
#endif
  return devices;
}

#ifdef FOLDTORCH_WITH_CUDA
// "cuda" without an index means the current device; the allocator's per-device calls reject -1, and know no
// device at all until CUDA is initialised (before a process's first CUDA tensor), so this initialises it.
inline c10::DeviceIndex cuda_index(const c10::Device& device) {
  at::globalContext().lazyInitDevice(c10::DeviceType::CUDA);
  return device.has_index() ? device.index() : c10::cuda::current_device();
}
#endif

// Waits for queued GPU work on the current stream; a no-op on CPU.
inline void synchronize(const c10::Device& device) {
#ifdef FOLDTORCH_WITH_CUDA
  if (device.is_cuda()) c10::cuda::getCurrentCUDAStream(cuda_index(device)).synchronize();
#else
  (void)device;
#endif
}

inline void reset_cuda_peak_memory(const c10::Device& device) {
#ifdef FOLDTORCH_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(cuda_index(device));
#endif
  (void)device;
}

inline std::string torch_version() { return TORCH_VERSION; }

}  // namespace foldtorch::compat

// ---- RNG state for training checkpoints (CUDA's default generator lives in the CUDA library) ----
#ifdef FOLDTORCH_WITH_CUDA
#include <ATen/cuda/CUDAGeneratorImpl.h>
#endif

namespace foldtorch::compat {

// The default CUDA generator's state for a CUDA device (uint8 CPU tensor); undefined for CPU devices and builds.
inline at::Tensor cuda_rng_state(const c10::Device& device) {
#ifdef FOLDTORCH_WITH_CUDA
  if (device.is_cuda()) {
    auto generator = at::cuda::detail::getDefaultCUDAGenerator(cuda_index(device));
    std::lock_guard<std::mutex> lock(generator.mutex());
    return generator.get_state();
  }
#endif
  (void)device;
  return at::Tensor();
}

inline void set_cuda_rng_state(const c10::Device& device, const at::Tensor& state) {
#ifdef FOLDTORCH_WITH_CUDA
  if (device.is_cuda()) {
    auto generator = at::cuda::detail::getDefaultCUDAGenerator(cuda_index(device));
    std::lock_guard<std::mutex> lock(generator.mutex());
    generator.set_state(state);
    return;
  }
#endif
  (void)device;
  (void)state;
}

}  // namespace foldtorch::compat

// ---- Memory statistics, the allocator cache and float32 precision (benchmarks, parity, the GPU check) ----
namespace foldtorch::compat {

struct CudaMemoryStats {
  int64_t allocated = 0;
  int64_t peak_allocated = 0;
  int64_t reserved = 0;
  int64_t peak_reserved = 0;
};

// The caching allocator's counters for a CUDA device (index 0 = the aggregate over pool kinds); zeros on CPU.
inline CudaMemoryStats cuda_memory_stats(const c10::Device& device) {
#ifdef FOLDTORCH_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(cuda_index(device));
    return {stats.allocated_bytes[0].current, stats.allocated_bytes[0].peak, stats.reserved_bytes[0].current,
            stats.reserved_bytes[0].peak};
  }
#endif
  (void)device;
  return {};
}

// Returns cached blocks to the driver, e.g. after an out-of-memory probe; a no-op without CUDA.
inline void empty_cuda_cache() {
#ifdef FOLDTORCH_WITH_CUDA
  if (cuda_available()) c10::cuda::CUDACachingAllocator::emptyCache();
#endif
}

// libtorch lets cuDNN convolutions use TF32 by default (cuBLAS matmuls not), which breaks float32 parity on
// Ampere and later: "highest" turns TF32 off for both, "high" on for both. The legacy setters keep the
// per-backend flags of libtorch >= 2.9 in step, so later reads never see a mixed state.
inline void set_float32_matmul_precision(bool highest) {
  auto& context = at::globalContext();
  context.setAllowTF32CuDNN(!highest);
  context.setFloat32MatmulPrecision(highest ? "highest" : "high");
}

}  // namespace foldtorch::compat

// ---- Memory a new allocation can still get (the memory estimates compare with it) ----
namespace foldtorch::compat {

namespace detail {

// The first number in a file (a cgroup limit or usage); nullopt when absent or "max" (no limit).
inline std::optional<double> read_number(const char* path) {
  std::ifstream in(path);
  std::string word;
  if (!(in >> word) || word == "max") return std::nullopt;
  try {
    return std::stod(word);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// /proc/meminfo's MemAvailable (what the kernel can give without swapping), in bytes.
inline std::optional<double> mem_available() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kib = 0;
  std::string unit;
  while (in >> key >> kib) {
    std::getline(in, unit);
    if (key == "MemAvailable:") return kib * 1024;
  }
  return std::nullopt;
}

}  // namespace detail

// Bytes free for new allocations on `device`: on CPU the least of MemAvailable and what the cgroup (v2, else v1)
// still allows; on CUDA the driver's free memory plus what the caching allocator holds unused. Infinity when
// nothing says (another OS): the caller then refuses nothing.
inline double available_memory(const c10::Device& device) {
  double available = std::numeric_limits<double>::infinity();
#ifdef FOLDTORCH_WITH_CUDA
  if (device.is_cuda()) {
    const auto index = cuda_index(device);
    c10::cuda::CUDAGuard guard(index);
    size_t free_bytes = 0, total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) return available;
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(index);
    return static_cast<double>(free_bytes) +
           static_cast<double>(stats.reserved_bytes[0].current - stats.allocated_bytes[0].current);
  }
#endif
  (void)device;
  if (auto bytes = detail::mem_available()) available = *bytes;
  auto limit = detail::read_number("/sys/fs/cgroup/memory.max");
  auto usage = detail::read_number("/sys/fs/cgroup/memory.current");
  if (!limit) {
    limit = detail::read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    usage = detail::read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes");
  }
  // cgroup v1 writes "no limit" as a huge number, which the min keeps harmless.
  if (limit && usage) available = std::min(available, std::max(0.0, *limit - *usage));
  return available;
}

}  // namespace foldtorch::compat
