// A caching allocator for libtorch's CPU tensors, as PyTorch's CUDA caching allocator is for GPU memory: freed
// blocks of 64 KiB and more are kept, by size class, for the next tensor of that class. A training step
// allocates the same sizes every step, so after the first step its activations and gradients land in memory
// that is already mapped. Without it glibc hands the compute thread's freed heaps back to the kernel and each
// step pays ~100k first-touch page faults (17% of an EfficientNet-Lite0 train step on these VMs).
#pragma once

#include <cstddef>
#include <cstdint>

namespace foldtorch::train {

struct CpuBlockCacheStats {
  bool installed = false;
  int64_t capacity_bytes = 0;  // most bytes kept idle
  int64_t idle_bytes = 0;      // freed blocks held for reuse
  int64_t in_use_bytes = 0;    // blocks held by live tensors
  int64_t hits = 0;            // allocations served from idle blocks
  int64_t misses = 0;          // allocations that mapped new memory
};

// Makes the cache libtorch's CPU allocator; idempotent (the first capacity stays). capacity_bytes 0 leaves
// libtorch's default allocator in place. Tensors allocated before keep their own deleters.
void InstallCpuBlockCache(int64_t capacity_bytes);

CpuBlockCacheStats CpuBlockCacheStatistics();

// Returns every idle block to the system (also done before reporting an out-of-memory failure).
void EmptyCpuBlockCache();

// The size class a request of `bytes` is served from (exposed for tests): 64-byte multiples below the cache's
// threshold, then steps of an eighth of the power of two below it (at most 12.5% over the request).
size_t CpuBlockSizeClass(size_t bytes);

}  // namespace foldtorch::train
