// Model.benchmark: reads the request, runs train::BenchmarkModel on the model's compute thread, returns the times.
#include "bridge/compute_thread.h"
#include "bridge/errors.h"
#include "bridge/model_state.h"
#include "bridge/options.h"
#include "train/model_bench.h"

namespace foldtorch::bridge {

namespace {

train::ModelBenchRequest ParseBenchRequest(const OptionReader& options) {
  train::ModelBenchRequest r;
  r.batch = options.Integer("batch");
  r.warmup = options.Integer("warmup", 1);
  r.iterations = options.Integer("iterations", 3);
  const std::string mode = options.String("mode");
  if (mode != "forward" && mode != "train")
    ThrowRangeError(options.env(),
                    "Expected \"forward\" or \"train\" for benchmark options.mode but received \"" + mode + "\"");
  r.train = mode == "train";
  r.precision = ReadPrecision(options);
  if (r.batch < 1 || r.warmup < 0 || r.iterations < 1)
    ThrowRangeError(options.env(), "Expected batch >= 1, warmup >= 0 and iterations >= 1 for benchmark options");
  return r;
}

Napi::Array ToArray(Napi::Env env, const std::vector<double>& values) {
  Napi::Array out = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); ++i) out.Set(static_cast<uint32_t>(i), values[i]);
  return out;
}

}  // namespace

Napi::Value ModelWrap::Benchmark(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ModelHandle handle = Live(env);
  OptionReader options(env, info[0], "benchmark options");
  const train::ModelBenchRequest request = ParseBenchRequest(options);
  const bool channels_last = state_->channels_last;
  AsyncCall<train::ModelBenchTimes> call(env, handle.device);
  return call.Run(
      [handle, request, channels_last] {
        return train::BenchmarkModel(*handle.module, handle.device, channels_last, request);
      },
      [](Napi::Env env, train::ModelBenchTimes& times) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("seconds", ToArray(env, times.seconds));
        out.Set("cpuSeconds", ToArray(env, times.cpu_seconds));
        return out;
      });
}

}  // namespace foldtorch::bridge
