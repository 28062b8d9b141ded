// The process group's JS functions: initDistributed, distributedAllGather, distributedBarrier.
#pragma once

#include <napi.h>

namespace foldtorch::bridge {

void InitDistributedExports(Napi::Env env, Napi::Object exports);

}  // namespace foldtorch::bridge
