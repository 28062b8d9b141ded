// Registers the addon's JS-visible functions and classes; everything else lives in native/bridge.
#include <napi.h>

#include "bridge/distributed_wrap.h"
#include "bridge/image_wrap.h"
#include "bridge/learner_wrap.h"
#include "bridge/model_wrap.h"
#include "bridge/runtime.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  foldtorch::bridge::InitRuntime();
  foldtorch::bridge::InitRuntimeExports(env, exports);
  foldtorch::bridge::ModelWrap::Init(env, exports);
  foldtorch::bridge::InitTrainExports(env, exports);
  foldtorch::bridge::InitImageExports(env, exports);
  foldtorch::bridge::InitDistributedExports(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(foldtorch, Init)
