// Device-level calls for benchmarks, parity and the GPU check: CUDA memory counters, the allocator cache,
// synchronisation and float32 (TF32) precision.
#pragma once

#include <napi.h>

namespace foldtorch::bridge {

// Adds cudaMemoryStats, resetCudaPeakMemory, emptyCudaCache, synchronizeDevice and setFloat32MatmulPrecision.
void InitDeviceExports(Napi::Env env, Napi::Object exports);

}  // namespace foldtorch::bridge
