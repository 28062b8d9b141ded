#include "train/cpu_block_cache.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>
#include <sys/mman.h>
#include <torch/version.h>

#include <cstdlib>
#include <list>
#include <map>
#include <mutex>
#include <unordered_map>

namespace foldtorch::train {

namespace {

constexpr size_t kMinCachedBytes = 64 * 1024;  // below this glibc's per-thread caches do well
constexpr size_t kAlignment = 64;              // libtorch's own CPU alignment
constexpr size_t kHugePage = 2 * 1024 * 1024;  // blocks this large are mapped 2 MiB-aligned for transparent huge pages

// Blocks of at least a huge page are mapped on their own, aligned, with MADV_HUGEPAGE: their first touch then
// costs one fault per 2 MiB instead of per 4 KiB. Smaller ones come from malloc.
void* MapBlock(size_t size) {
  if (size < kHugePage) {
    void* ptr = nullptr;
    return posix_memalign(&ptr, kAlignment, size) == 0 ? ptr : nullptr;
  }
  const size_t length = size + kHugePage;
  void* raw = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
  const uintptr_t end = aligned + size;  // size classes this large are page multiples
  if (aligned > start) munmap(raw, aligned - start);
  if (start + length > end) munmap(reinterpret_cast<void*>(end), start + length - end);
  madvise(reinterpret_cast<void*>(aligned), size, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

void UnmapBlock(void* ptr, size_t size) {
  if (size < kHugePage) {
    std::free(ptr);
  } else {
    munmap(ptr, size);
  }
}

class CpuBlockCache final : public c10::Allocator {
 public:
  CpuBlockCache(c10::Allocator* fallback, int64_t capacity)
      : fallback_(fallback), capacity_(static_cast<size_t>(capacity)) {}

  c10::DataPtr allocate(size_t bytes) override {
    if (bytes < kMinCachedBytes) return fallback_->allocate(bytes);
    const size_t size = CpuBlockSizeClass(bytes);
    void* ptr = TakeIdle(size);
    if (ptr == nullptr) ptr = MapNew(size, bytes);
    return {ptr, ptr, &Release, c10::Device(c10::DeviceType::CPU)};
  }

  // raw_allocate()'s callers free with this for every size: Release tells the cached blocks from the small ones
  // the fallback made (posix_memalign, as libtorch's own free_cpu expects).
  c10::DeleterFnPtr raw_deleter() const override { return &Release; }

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  void copy_data(void* dest, const void* src, std::size_t count) const override { default_copy_data(dest, src, count); }
#endif

  CpuBlockCacheStats Stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {true,
            static_cast<int64_t>(capacity_),
            static_cast<int64_t>(idle_bytes_),
            static_cast<int64_t>(in_use_bytes_),
            hits_,
            misses_};
  }

  void EmptyIdle() {
    std::lock_guard<std::mutex> lock(mutex_);
    while (!idle_.empty()) EvictOldest();
  }

 private:
  struct IdleBlock {
    size_t size;
    void* ptr;
  };

  static void Release(void* ptr);

  void* TakeIdle(size_t size) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto found = idle_by_size_.find(size);
    if (found == idle_by_size_.end()) return nullptr;
    void* ptr = found->second->ptr;
    idle_.erase(found->second);
    idle_by_size_.erase(found);
    idle_bytes_ -= size;
    in_use_bytes_ += size;
    live_.emplace(ptr, size);
    ++hits_;
    return ptr;
  }

  void* MapNew(size_t size, size_t requested) {
    void* ptr = MapBlock(size);
    if (ptr == nullptr) {  // give the idle blocks back and try once more before failing, as the CUDA allocator does
      EmptyIdle();
      ptr = MapBlock(size);
    }
    TORCH_CHECK_WITH(OutOfMemoryError, ptr != nullptr, "CPU: not enough memory: tried to allocate ", requested,
                     " bytes (", static_cast<double>(requested) / (1 << 20), " MiB)");
    std::lock_guard<std::mutex> lock(mutex_);
    in_use_bytes_ += size;
    live_.emplace(ptr, size);
    ++misses_;
    return ptr;
  }

  void Give(void* ptr) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto found = live_.find(ptr);
    if (found == live_.end()) {  // a small block from the fallback, freed through raw_deleter() (oneDNN's scratch)
      std::free(ptr);
      return;
    }
    const size_t size = found->second;
    live_.erase(found);
    in_use_bytes_ -= size;
    if (size > capacity_) {
      UnmapBlock(ptr, size);
      return;
    }
    while (idle_bytes_ + size > capacity_) EvictOldest();
    idle_.push_back({size, ptr});
    idle_by_size_.emplace(size, std::prev(idle_.end()));
    idle_bytes_ += size;
  }

  // The block idle longest goes first: sizes a run no longer asks for leave, the ones each step reuses stay.
  void EvictOldest() {
    const IdleBlock block = idle_.front();
    auto range = idle_by_size_.equal_range(block.size);
    for (auto it = range.first; it != range.second; ++it) {
      if (it->second == idle_.begin()) {
        idle_by_size_.erase(it);
        break;
      }
    }
    idle_.pop_front();
    idle_bytes_ -= block.size;
    UnmapBlock(block.ptr, block.size);
  }

  c10::Allocator* fallback_;
  const size_t capacity_;
  std::mutex mutex_;
  std::list<IdleBlock> idle_;  // oldest first
  std::multimap<size_t, std::list<IdleBlock>::iterator> idle_by_size_;
  std::unordered_map<void*, size_t> live_;
  size_t idle_bytes_ = 0, in_use_bytes_ = 0;
  int64_t hits_ = 0, misses_ = 0;
};

std::mutex g_install_mutex;
CpuBlockCache* g_cache = nullptr;  // never destroyed: tensors may outlive static destruction order

void CpuBlockCache::Release(void* ptr) { g_cache->Give(ptr); }

}  // namespace

size_t CpuBlockSizeClass(size_t bytes) {
  if (bytes < kMinCachedBytes) return (bytes + kAlignment - 1) / kAlignment * kAlignment;
  size_t power = kMinCachedBytes;
  while (power <= bytes / 2) power *= 2;  // the largest power of two <= bytes
  const size_t step = power / 8;
  return (bytes + step - 1) / step * step;
}

void InstallCpuBlockCache(int64_t capacity_bytes) {
  std::lock_guard<std::mutex> lock(g_install_mutex);
  if (g_cache != nullptr || capacity_bytes <= 0) return;
  g_cache = new CpuBlockCache(c10::GetDefaultCPUAllocator(), capacity_bytes);
  // Priority above the default allocator's registration, so that later registrations at priority 0 do not undo it.
  c10::SetCPUAllocator(g_cache, /*priority=*/1);
}

CpuBlockCacheStats CpuBlockCacheStatistics() { return g_cache == nullptr ? CpuBlockCacheStats{} : g_cache->Stats(); }

void EmptyCpuBlockCache() {
  if (g_cache != nullptr) g_cache->EmptyIdle();
}

}  // namespace foldtorch::train
