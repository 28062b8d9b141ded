#include "models/layers/cpu_kernels.h"

#include <mutex>
#include <set>

namespace foldtorch::layers::cpu_kernels {

int ThreadsRunningChunks(int64_t chunks) {
  std::mutex mutex;
  std::set<int> threads;
  ForEachChunk(chunks, chunks, [&](int64_t, int64_t, int64_t) {
    const std::lock_guard<std::mutex> lock(mutex);
    threads.insert(at::get_thread_num());
  });
  return static_cast<int>(threads.size());
}

}  // namespace foldtorch::layers::cpu_kernels
