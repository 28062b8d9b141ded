// decodeJpegExact() and orientPixels(): the loader's native fast path for small images (native/io/jpeg.h), run on
// libuv's worker threads like sharp's own work, so they overlap the compute thread's training steps.
#pragma once

#include <napi.h>

namespace foldtorch::bridge {

Napi::Object InitImageExports(Napi::Env env, Napi::Object exports);

}  // namespace foldtorch::bridge
