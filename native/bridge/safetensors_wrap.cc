// readSafetensors: { tensors: { name: { dtype, shape, data: Float32Array } }, metadata } with every value
// converted to float32 (I64 beyond 2^24 loses precision), through the bounds-checked native reader; and
// readSafetensorsHeader, the same reader's checked header alone (the project's one safetensors parser).
#include "bridge/safetensors_wrap.h"

#include <ATen/ATen.h>

#include "bridge/compute_thread.h"
#include "bridge/errors.h"
#include "bridge/options.h"
#include "bridge/tensor_bridge.h"
#include "io/safetensors.h"

namespace foldtorch::bridge {

namespace {

struct FileContents {
  std::vector<std::pair<io::TensorEntry, at::Tensor>> tensors;
  std::map<std::string, std::string> metadata;
};

Napi::Value ReadSafetensors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString())
    ThrowTypeError(env, "Expected a string for path but received " + DescribeValue(info[0]));
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  AsyncCall<FileContents> call(env, c10::Device(c10::kCPU));
  return call.Run(
      [path] {
        auto file = io::SafetensorsFile::open(path);
        FileContents contents;
        contents.metadata = file->metadata();
        for (const auto& entry : file->entries())
          contents.tensors.emplace_back(entry, ToHostFloat(file->tensor(entry.name)));
        return contents;
      },
      [](Napi::Env env, FileContents& contents) -> Napi::Value {
        Napi::Object tensors = Napi::Object::New(env);
        for (auto& [entry, tensor] : contents.tensors) {
          Napi::Object item = HostTensorToJs(env, tensor);
          item.Set("dtype", entry.dtype);
          tensors.Set(entry.name, item);
        }
        Napi::Object metadata = Napi::Object::New(env);
        for (const auto& [key, value] : contents.metadata) metadata.Set(key, value);
        Napi::Object out = Napi::Object::New(env);
        out.Set("tensors", tensors);
        out.Set("metadata", metadata);
        return out;
      });
}

// Synchronous on purpose: it reads and checks the header only (at most 100 MiB, usually a few kB), as fs.statSync.
Napi::Value ReadSafetensorsHeader(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString())
    ThrowTypeError(env, "Expected a string for path but received " + DescribeValue(info[0]));
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  return GuardedCall(env, [&]() -> Napi::Value {
    auto file = io::SafetensorsFile::open(path);
    Napi::Array tensors = Napi::Array::New(env, file->entries().size());
    uint32_t i = 0;
    for (const auto& entry : file->entries()) {
      Napi::Object item = Napi::Object::New(env);
      Napi::Array shape = Napi::Array::New(env, entry.shape.size());
      for (uint32_t d = 0; d < entry.shape.size(); ++d) shape.Set(d, static_cast<double>(entry.shape[d]));
      item.Set("name", entry.name);
      item.Set("dtype", entry.dtype);
      item.Set("shape", shape);
      item.Set("begin", static_cast<double>(file->data_start() + entry.begin));
      item.Set("end", static_cast<double>(file->data_start() + entry.end));
      tensors.Set(i++, item);
    }
    Napi::Object metadata = Napi::Object::New(env);
    for (const auto& [key, value] : file->metadata()) metadata.Set(key, value);
    Napi::Object out = Napi::Object::New(env);
    out.Set("tensors", tensors);
    out.Set("metadata", metadata);
    return out;
  });
}

}  // namespace

void InitSafetensorsExports(Napi::Env env, Napi::Object exports) {
  exports.Set("readSafetensors", Napi::Function::New(env, ReadSafetensors, "readSafetensors"));
  exports.Set("readSafetensorsHeader", Napi::Function::New(env, ReadSafetensorsHeader, "readSafetensorsHeader"));
}

}  // namespace foldtorch::bridge
