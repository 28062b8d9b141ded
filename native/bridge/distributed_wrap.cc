// Joins the process group and runs its collectives on the device's compute thread, in call order, so every rank
// issues the same collectives in the same order as its train steps.
#include "bridge/distributed_wrap.h"

#include <ATen/ATen.h>

#include <cstring>

#include "bridge/compute_thread.h"
#include "bridge/errors.h"
#include "bridge/options.h"
#include "train/data_parallel.h"

namespace foldtorch::bridge {

namespace {

std::shared_ptr<train::DataParallel> Joined(Napi::Env env, const char* function) {
  auto group = train::CurrentDataParallel();
  if (!group)
    ThrowRangeError(env,
                    std::string(function) + ": this process has not joined a process group (initDistributed first)");
  return group;
}

Napi::Object DescribeGroup(Napi::Env env, const train::DataParallel& group) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("rank", static_cast<double>(group.rank()));
  out.Set("worldSize", static_cast<double>(group.world_size()));
  out.Set("backend", group.backend());
  return out;
}

Napi::Value DistributedAvailable(const Napi::CallbackInfo& info) {
  std::string why;
  if (train::DataParallelAvailable(&why)) return info.Env().Null();
  return Napi::String::New(info.Env(), why);
}

Napi::Value InitDistributed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OptionReader o(env, info[0], "initDistributed options");
  train::ProcessGroupOptions options;
  options.rank = o.Integer("rank");
  options.world_size = o.Integer("worldSize");
  options.master_addr = o.String("masterAddr");
  options.master_port = o.Integer("masterPort");
  options.timeout_ms = o.Integer("timeoutMs", options.timeout_ms);
  options.bucket_bytes = o.Integer("bucketBytes", options.bucket_bytes);
  const c10::Device device = o.Device("device");
  AsyncCall<std::shared_ptr<train::DataParallel>> call(env, device);
  return call.Run([options, device] { return train::InitDataParallel(options, device); },
                  [](Napi::Env env, std::shared_ptr<train::DataParallel>& group) -> Napi::Value {
                    return DescribeGroup(env, *group);
                  });
}

// (values: Float64Array, device) → every rank's values, in rank order.
Napi::Value DistributedAllGather(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto group = Joined(env, "distributedAllGather");
  if (info.Length() < 2 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array || !info[1].IsString()) {
    ThrowTypeError(env, "Expected (values: Float64Array, device: string) for distributedAllGather but received " +
                            DescribeValue(info[0]));
  }
  auto values = info[0].As<Napi::Float64Array>();
  auto local = at::empty({static_cast<int64_t>(values.ElementLength())}, at::kDouble);
  if (values.ElementLength() > 0)
    std::memcpy(local.data_ptr<double>(), values.Data(), values.ElementLength() * sizeof(double));
  const c10::Device device = ParseDevice(env, info[1].As<Napi::String>().Utf8Value(), "distributedAllGather device");
  AsyncCall<std::vector<at::Tensor>> call(env, device);
  return call.Run([group, local] { return group->all_gather(local); },
                  [](Napi::Env env, std::vector<at::Tensor>& parts) -> Napi::Value {
                    Napi::Array out = Napi::Array::New(env, parts.size());
                    for (uint32_t r = 0; r < parts.size(); ++r) {
                      auto array = Napi::Float64Array::New(env, static_cast<size_t>(parts[r].numel()));
                      if (parts[r].numel() > 0)
                        std::memcpy(array.Data(), parts[r].data_ptr<double>(), parts[r].numel() * sizeof(double));
                      out.Set(r, array);
                    }
                    return out;
                  });
}

Napi::Value DistributedBarrier(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto group = Joined(env, "distributedBarrier");
  if (info.Length() < 1 || !info[0].IsString())
    ThrowTypeError(env, "Expected a device string for distributedBarrier but received " + DescribeValue(info[0]));
  const c10::Device device = ParseDevice(env, info[0].As<Napi::String>().Utf8Value(), "distributedBarrier device");
  AsyncCall<bool> call(env, device);
  return call.Run(
      [group] {
        group->barrier();
        return true;
      },
      [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); });
}

}  // namespace

void InitDistributedExports(Napi::Env env, Napi::Object exports) {
  exports.Set("distributedAvailable", Napi::Function::New(env, DistributedAvailable, "distributedAvailable"));
  exports.Set("initDistributed", Napi::Function::New(env, InitDistributed, "initDistributed"));
  exports.Set("distributedAllGather", Napi::Function::New(env, DistributedAllGather, "distributedAllGather"));
  exports.Set("distributedBarrier", Napi::Function::New(env, DistributedBarrier, "distributedBarrier"));
}

}  // namespace foldtorch::bridge
