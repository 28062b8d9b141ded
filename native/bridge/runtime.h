// Process-wide native runtime: malloc tuning and thread counts at load, `doctor`, and the bridge's own calls.
#pragma once

#include <napi.h>

namespace foldtorch::bridge {

// Called once from addon.cc: tunes malloc for this VM's slow first-touch page faults and sets intra-op
// threads to the real core count (FOLDTORCH_NUM_THREADS overrides).
void InitRuntime();

Napi::Object InitRuntimeExports(Napi::Env env, Napi::Object exports);

}  // namespace foldtorch::bridge
