// decodeJpegExact(bytes, size, plan) → Promise<Buffer | null> and orientPixels(rgb, size, plan) → Promise<Buffer>;
// size is the source image's side or [height, width].
#include "bridge/image_wrap.h"

#include <string>
#include <utility>
#include <vector>

#include "bridge/errors.h"
#include "bridge/options.h"
#include "io/jpeg.h"

namespace foldtorch::bridge {

namespace {

// The input bytes are copied: a JS Buffer may be changed or collected while the worker runs.
class ImageWorker : public Napi::AsyncWorker {
 public:
  enum class Kind { kDecodeJpeg, kOrient };

  ImageWorker(Napi::Env env, Kind kind, Napi::Uint8Array input, int height, int width, io::Orientation orientation)
      : Napi::AsyncWorker(env),
        kind_(kind),
        input_(input.Data(), input.Data() + input.ByteLength()),
        height_(height),
        width_(width),
        orientation_(orientation),
        deferred_(Napi::Promise::Deferred::New(env)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    output_.resize(static_cast<size_t>(height_) * width_ * 3);
    if (kind_ == Kind::kOrient) {
      io::orient_pixels(input_.data(), height_, width_, 3, orientation_, output_.data());
      ok_ = true;
    } else {
      ok_ = io::decode_jpeg_exact(input_.data(), input_.size(), height_, width_, orientation_, output_.data());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (!ok_) {
      deferred_.Resolve(env.Null());
      return;
    }
    deferred_.Resolve(Napi::Buffer<uint8_t>::Copy(env, output_.data(), output_.size()));
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Kind kind_;
  std::vector<uint8_t> input_;
  std::vector<uint8_t> output_;
  int height_, width_;
  io::Orientation orientation_;
  bool ok_ = false;
  Napi::Promise::Deferred deferred_;
};

io::Orientation ReadOrientation(Napi::Env env, Napi::Value value, const char* where) {
  OptionReader plan(env, value, where);
  io::Orientation orientation;
  orientation.hflip = plan.Bool("hflip", false);
  orientation.vflip = plan.Bool("vflip", false);
  orientation.rot90 = static_cast<int>(plan.Integer("rot90", 0));
  if (orientation.rot90 < 0 || orientation.rot90 > 3) {
    ThrowRangeError(env, std::string("Expected 0, 1, 2 or 3 for ") + where + ".rot90 but received " +
                             std::to_string(orientation.rot90));
  }
  return orientation;
}

// The source image's size: a side, or [height, width]; each an integer from 1 to 8192.
std::pair<int64_t, int64_t> ReadSize(Napi::Env env, Napi::Value value, const char* function) {
  const std::string where = std::string(function) + " size";
  auto side = [&](Napi::Value v) -> int64_t {
    if (!v.IsNumber())
      ThrowTypeError(env, "Expected a side or [height, width] for " + where + " but received " + DescribeValue(value));
    const double x = v.As<Napi::Number>().DoubleValue();
    if (!(x >= 1 && x <= 8192) || x != static_cast<double>(static_cast<int64_t>(x))) {
      ThrowRangeError(env, "Expected integers from 1 to 8192 for " + where + " but received " + DescribeValue(value));
    }
    return static_cast<int64_t>(x);
  };
  if (value.IsArray() && value.As<Napi::Array>().Length() == 2) {
    auto pair = value.As<Napi::Array>();
    return {side(pair.Get(0u)), side(pair.Get(1u))};
  }
  const int64_t s = side(value);
  return {s, s};
}

Napi::Value Run(const Napi::CallbackInfo& info, ImageWorker::Kind kind, const char* function, const char* plan_where) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowTypeError(env, std::string("Expected a Buffer or Uint8Array for ") + function + " bytes but received " +
                            DescribeValue(info[0]));
  }
  const auto [height, width] = ReadSize(env, info[1], function);
  auto input = info[0].As<Napi::Uint8Array>();
  if (kind == ImageWorker::Kind::kOrient && static_cast<int64_t>(input.ByteLength()) != height * width * 3) {
    ThrowRangeError(env, "Expected " + std::to_string(height * width * 3) +
                             " bytes (height × width RGB) for orientPixels rgb but received " +
                             std::to_string(input.ByteLength()));
  }
  auto* worker = new ImageWorker(env, kind, input, static_cast<int>(height), static_cast<int>(width),
                                 ReadOrientation(env, info[2], plan_where));
  auto promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value DecodeJpegExact(const Napi::CallbackInfo& info) {
  return Run(info, ImageWorker::Kind::kDecodeJpeg, "decodeJpegExact", "decodeJpegExact plan");
}
Napi::Value OrientPixels(const Napi::CallbackInfo& info) {
  return Run(info, ImageWorker::Kind::kOrient, "orientPixels", "orientPixels plan");
}

}  // namespace

Napi::Object InitImageExports(Napi::Env env, Napi::Object exports) {
  exports.Set("decodeJpegExact", Napi::Function::New(env, DecodeJpegExact, "decodeJpegExact"));
  exports.Set("orientPixels", Napi::Function::New(env, OrientPixels, "orientPixels"));
  exports.Set("jpegFastPath", Napi::Boolean::New(env, io::jpeg_fast_path_available()));
  return exports;
}

}  // namespace foldtorch::bridge
