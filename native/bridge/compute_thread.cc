// The per-device compute threads behind every Promise-returning native call.
#include "bridge/compute_thread.h"

#include <ATen/Parallel.h>
#include <c10/core/DeviceGuard.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace foldtorch::bridge {

namespace {
std::atomic<int> g_intra_op_threads{0};
}

struct ComputeThread::State {
  explicit State(c10::Device d) : device(d) {}
  c10::Device device;
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<std::function<void()>> tasks;
  int applied_threads = -1;
};

ComputeThread& ComputeThread::ForDevice(const c10::Device& device) {
  static std::mutex registry_mutex;
  // Leaked on purpose: the threads live as long as the process and must not be joined at static destruction.
  static auto* registry = new std::map<std::string, ComputeThread*>();
  std::lock_guard<std::mutex> lock(registry_mutex);
  const std::string key = device.str();
  auto found = registry->find(key);
  if (found != registry->end()) return *found->second;
  auto* thread = new ComputeThread(device);
  registry->emplace(key, thread);
  return *thread;
}

ComputeThread::ComputeThread(c10::Device device) : state_(std::make_shared<State>(device)) {
  std::thread([state = state_] {
    if (state->device.is_cuda()) c10::impl::getDeviceGuardImpl(c10::DeviceType::CUDA)->setDevice(state->device);
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock<std::mutex> lock(state->mutex);
        state->ready.wait(lock, [&] { return !state->tasks.empty(); });
        task = std::move(state->tasks.front());
        state->tasks.pop_front();
      }
      const int wanted = g_intra_op_threads.load();
      if (wanted > 0 && wanted != state->applied_threads) {
        at::set_num_threads(wanted);
        state->applied_threads = wanted;
      }
      task();  // AsyncCall's tasks catch everything themselves.
    }
  }).detach();
}

void ComputeThread::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->tasks.push_back(std::move(task));
  }
  state_->ready.notify_one();
}

void ComputeThread::SetIntraOpThreads(int threads) {
  g_intra_op_threads.store(threads);
  at::set_num_threads(threads);
}

int ComputeThread::IntraOpThreads() { return g_intra_op_threads.load(); }

}  // namespace foldtorch::bridge
