// Data-parallel training on torch.distributed's c10d: a process group (Gloo on CPU, NCCL on CUDA) met through a
// TCPStore, the parameter broadcast from rank 0, and c10d's Reducer averaging gradients in buckets during
// backward. The c10d headers stay in data_parallel.cc (they are heavy); this header is plain ATen.
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace foldtorch::train {

// What torchrun puts in the environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), checked by the caller.
struct ProcessGroupOptions {
  int64_t rank = 0;
  int64_t world_size = 1;
  std::string master_addr = "127.0.0.1";
  int64_t master_port = 29500;
  // How long rendezvous and each collective may wait for the other ranks.
  int64_t timeout_ms = 30 * 60 * 1000;
  // Gradient bucket size for the all-reduce (DDP's bucket_cap_mb, in bytes).
  int64_t bucket_bytes = 25 * 1024 * 1024;
};

// Whether this build has c10d; when not, `why` says so (the node-gyp build leaves it out).
bool DataParallelAvailable(std::string* why = nullptr);

class DataParallel {
 public:
  virtual ~DataParallel() = default;
  virtual int64_t rank() const = 0;
  virtual int64_t world_size() const = 0;
  // "gloo" or "nccl".
  virtual std::string backend() const = 0;

  // Copies rank 0's values into `tensors` on every rank (parameters and buffers at the start).
  virtual void broadcast_from_rank0(const std::vector<at::Tensor>& tensors) = 0;
  // (Re)builds the gradient reducer over exactly these parameters (the trainable ones, in a fixed order).
  virtual void attach(const std::vector<at::Tensor>& params) = 0;
  // Around one micro-batch: `sync` on the last micro-batch of an optimizer step, whose backward all-reduces the
  // gradients (averaged over ranks) while it runs; earlier micro-batches accumulate locally (DDP's no_sync).
  virtual void before_forward(bool sync) = 0;
  // loss.backward(), with the gradient all-reduce when `sync`; a failed collective names its likely cause.
  virtual void backward(const at::Tensor& loss, bool sync) = 0;
  // Every rank's 1-D float64 tensor (the lengths may differ), in rank order.
  virtual std::vector<at::Tensor> all_gather(const at::Tensor& local) = 0;
  virtual void barrier() = 0;
  // Seconds spent in gradient all-reduces (from each bucket's start to its completion) since the last call.
  virtual double take_allreduce_seconds() = 0;
};

// The process' group, made on the first call and shared by every Learner after it; a second call with other
// options is refused (a process belongs to one group).
std::shared_ptr<DataParallel> InitDataParallel(const ProcessGroupOptions& options, const c10::Device& device);
// The group made by InitDataParallel, or null.
std::shared_ptr<DataParallel> CurrentDataParallel();

}  // namespace foldtorch::train
