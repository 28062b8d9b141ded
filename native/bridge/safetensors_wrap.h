// readSafetensors(path) for JS: a safetensors file's tensors as Float32Arrays, read on a compute thread;
// readSafetensorsHeader(path): its checked header alone.
#pragma once

#include <napi.h>

namespace foldtorch::bridge {

void InitSafetensorsExports(Napi::Env env, Napi::Object exports);

}  // namespace foldtorch::bridge
