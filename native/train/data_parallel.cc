// DataParallel over c10d (see data_parallel.h). Built with c10d when CMake finds Gloo's headers
// (FOLDTORCH_WITH_C10D); otherwise every entry point says the build lacks it.
#include "train/data_parallel.h"

#include <c10/util/Exception.h>

#include <mutex>

#ifdef FOLDTORCH_WITH_C10D
#include <ATen/ATen.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/comm.hpp>
#include <torch/csrc/distributed/c10d/reducer.hpp>
#ifdef FOLDTORCH_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <atomic>
#include <chrono>
#endif

namespace foldtorch::train {

namespace {

std::mutex g_mutex;
std::shared_ptr<DataParallel> g_current;
ProcessGroupOptions g_options;

#ifdef FOLDTORCH_WITH_C10D

using Clock = std::chrono::steady_clock;

// DDP's default hook (divide by the world size, then all-reduce the bucket), timed from launch to completion.
class TimedAllReduceHook : public c10d::CommHookInterface {
 public:
  TimedAllReduceHook(c10::intrusive_ptr<c10d::ProcessGroup> group, std::shared_ptr<std::atomic<int64_t>> nanos)
      : group_(std::move(group)), nanos_(std::move(nanos)) {}

  c10::intrusive_ptr<c10::ivalue::Future> runHook(c10d::GradBucket& bucket) override {
    const auto started = Clock::now();
    std::vector<at::Tensor> tensors{bucket.getBufferRef()};
    tensors[0].div_(group_->getSize());
    auto future = group_->allreduce(tensors)->getFuture();
    future->addCallback([nanos = nanos_, started](c10::ivalue::Future&) {
      nanos->fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started).count());
    });
    return future;
  }

  at::Tensor parseHookResult(const c10::IValue& result) override {
    return c10d::detail::parseCppCommHookResult(result);
  }

 private:
  c10::intrusive_ptr<c10d::ProcessGroup> group_;
  std::shared_ptr<std::atomic<int64_t>> nanos_;
};

// Runs a collective and names the likely cause when it fails: a rank that died or stopped answering.
template <typename Fn>
auto Collective(const char* what, Fn&& fn) {
  try {
    return fn();
  } catch (const c10::Error& e) {
    TORCH_CHECK(false, "distributed: ", what, " failed; another rank probably died or stopped answering (",
                e.what_without_backtrace(), ")");
  } catch (const std::exception& e) {
    TORCH_CHECK(false, "distributed: ", what, " failed; another rank probably died or stopped answering (", e.what(),
                ")");
  }
}

class C10dDataParallel : public DataParallel {
 public:
  C10dDataParallel(const ProcessGroupOptions& o, const c10::Device& device) : device_(device) {
    const auto timeout = std::chrono::milliseconds(o.timeout_ms);
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<uint16_t>(o.master_port);
    store_options.isServer = o.rank == 0;
    store_options.numWorkers = static_cast<size_t>(o.world_size);
    store_options.timeout = timeout;
    try {
      store_ = c10::make_intrusive<c10d::TCPStore>(o.master_addr, store_options);
    } catch (const std::exception& e) {
      const std::string message = e.what();
      const bool in_use = message.find("EADDRINUSE") != std::string::npos ||
                          message.find("address already in use") != std::string::npos;
      TORCH_CHECK(!in_use, "distributed: MASTER_PORT ", o.master_port, " on ", o.master_addr,
                  " is already in use; choose a free port (rank 0 listens there)");
      TORCH_CHECK(false, "distributed: rank ", o.rank, " could not meet the other ", o.world_size - 1,
                  " rank(s) at MASTER_ADDR=", o.master_addr, " MASTER_PORT=", o.master_port, " within ", o.timeout_ms,
                  " ms (", FirstLine(message), ")");
    }
    group_ = c10::make_intrusive<c10d::ProcessGroup>(store_, static_cast<int>(o.rank), static_cast<int>(o.world_size));
    if (device.is_cuda()) {
#ifdef FOLDTORCH_WITH_NCCL
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      auto nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(store_, static_cast<int>(o.rank),
                                                              static_cast<int>(o.world_size), options);
      group_->setBackend(c10::DeviceType::CUDA, c10d::ProcessGroup::BackendType::NCCL, nccl);
      group_->setDefaultBackend(c10d::ProcessGroup::BackendType::NCCL);
      backend_ = "nccl";
#else
      TORCH_CHECK(false, "distributed: NCCL is not in this build (a CUDA build of the addon has it); got device ",
                  device.str());
#endif
    } else {
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(o.master_addr));
      auto gloo = Collective("Gloo rendezvous", [&] {
        return c10::make_intrusive<c10d::ProcessGroupGloo>(store_, static_cast<int>(o.rank),
                                                           static_cast<int>(o.world_size), options);
      });
      group_->setBackend(c10::DeviceType::CPU, c10d::ProcessGroup::BackendType::GLOO, gloo);
      group_->setDefaultBackend(c10d::ProcessGroup::BackendType::GLOO);
      backend_ = "gloo";
    }
    bucket_bytes_ = o.bucket_bytes;
  }

  int64_t rank() const override { return group_->getRank(); }
  int64_t world_size() const override { return group_->getSize(); }
  std::string backend() const override { return backend_; }

  void broadcast_from_rank0(const std::vector<at::Tensor>& tensors) override {
    if (tensors.empty()) return;
    at::NoGradGuard no_grad;
    Collective("the broadcast from rank 0", [&] {
      c10d::broadcast_coalesced(group_, tensors, static_cast<size_t>(bucket_bytes_), 0);
      return 0;
    });
  }

  void attach(const std::vector<at::Tensor>& params) override {
    reducer_.reset();
    if (params.empty()) return;
    const std::vector<bool> dense(params.size(), false);
    auto [buckets, limits] =
        c10d::compute_bucket_assignment_by_size(params, {static_cast<size_t>(bucket_bytes_)}, dense);
    reducer_ =
        std::make_unique<c10d::Reducer>(params, buckets, group_, dense, bucket_bytes_, /*find_unused_parameters=*/false,
                                        /*gradient_as_bucket_view=*/false, std::unordered_map<size_t, std::string>{},
                                        bucket_bytes_, /*skip_all_reduce_unused_params=*/false,
                                        /*use_python_reducer=*/false, std::vector<int64_t>{});
    reducer_->register_comm_hook(std::make_unique<TimedAllReduceHook>(group_, allreduce_nanos_));
  }

  void before_forward(bool sync) override {
    TORCH_CHECK(reducer_ != nullptr, "distributed: no parameters attached to the gradient reducer");
    if (!sync) return;
    Collective("the gradient bucket exchange", [&] { return reducer_->rebuild_buckets(); });
    reducer_->prepare_for_forward();
  }

  void backward(const at::Tensor& loss, bool sync) override {
    Collective("the gradient all-reduce", [&] {
      if (sync) reducer_->prepare_for_backward({});
      loss.backward();
      return 0;
    });
  }

  std::vector<at::Tensor> all_gather(const at::Tensor& local) override {
    const auto flat = local.to(device_, at::kDouble).contiguous().view(-1);
    const auto world = world_size();
    // Gloo gathers equal sizes: the lengths first, then every part padded to the longest.
    auto length = at::full({1}, flat.numel(), at::TensorOptions().dtype(at::kLong).device(device_));
    std::vector<at::Tensor> lengths(world);
    for (auto& t : lengths) t = at::empty_like(length);
    GatherInto(lengths, length);
    int64_t longest = 0;
    std::vector<int64_t> sizes;
    for (const auto& t : lengths) {
      sizes.push_back(t.cpu().item<int64_t>());
      longest = std::max(longest, sizes.back());
    }
    auto padded = at::zeros({std::max<int64_t>(longest, 1)}, flat.options());
    padded.slice(0, 0, flat.numel()).copy_(flat);
    std::vector<at::Tensor> parts(world);
    for (auto& t : parts) t = at::empty_like(padded);
    GatherInto(parts, padded);
    for (int64_t r = 0; r < world; ++r) parts[r] = parts[r].slice(0, 0, sizes[r]).cpu();
    return parts;
  }

  void barrier() override {
    Collective("the barrier", [&] {
      group_->barrier()->wait();
      return 0;
    });
  }

  double take_allreduce_seconds() override { return static_cast<double>(allreduce_nanos_->exchange(0)) * 1e-9; }

 private:
  static std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

  void GatherInto(std::vector<at::Tensor>& outputs, const at::Tensor& input) {
    Collective("the all-gather", [&] {
      std::vector<std::vector<at::Tensor>> out{outputs};
      std::vector<at::Tensor> in{input};
      group_->allgather(out, in)->wait();
      outputs = out[0];
      return 0;
    });
  }

  c10::Device device_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroup> group_;
  std::unique_ptr<c10d::Reducer> reducer_;
  std::string backend_;
  int64_t bucket_bytes_ = 0;
  std::shared_ptr<std::atomic<int64_t>> allreduce_nanos_ = std::make_shared<std::atomic<int64_t>>(0);
};

#endif  // FOLDTORCH_WITH_C10D

bool SameOptions(const ProcessGroupOptions& a, const ProcessGroupOptions& b) {
  return a.rank == b.rank && a.world_size == b.world_size && a.master_addr == b.master_addr &&
         a.master_port == b.master_port;
}

}  // namespace

bool DataParallelAvailable(std::string* why) {
#ifdef FOLDTORCH_WITH_C10D
  return true;
#else
  if (why)
    *why =
        "distributed training (c10d) is not in this build: build the addon with `npm run build:native` (cmake-js) "
        "after scripts/setup.sh installs Gloo's headers (libgloo-dev)";
  return false;
#endif
}

std::shared_ptr<DataParallel> InitDataParallel(const ProcessGroupOptions& options, const c10::Device& device) {
  std::string why;
  TORCH_CHECK(DataParallelAvailable(&why), why);
  TORCH_CHECK_VALUE(options.world_size >= 1 && options.rank >= 0 && options.rank < options.world_size,
                    "distributed: expected 0 <= RANK < WORLD_SIZE (got RANK=", options.rank,
                    ", WORLD_SIZE=", options.world_size, ")");
  TORCH_CHECK_VALUE(options.master_port > 0 && options.master_port < 65536,
                    "distributed: expected MASTER_PORT from 1 to 65535 (got ", options.master_port, ")");
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_current) {
    TORCH_CHECK_VALUE(SameOptions(options, g_options), "distributed: this process already joined a group as rank ",
                      g_options.rank, " of ", g_options.world_size, "; a process belongs to one group");
    return g_current;
  }
#ifdef FOLDTORCH_WITH_C10D
  g_current = std::make_shared<C10dDataParallel>(options, device);
  g_options = options;
#endif
  return g_current;
}

std::shared_ptr<DataParallel> CurrentDataParallel() {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_current;
}

}  // namespace foldtorch::train
