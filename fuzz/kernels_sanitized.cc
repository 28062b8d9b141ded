// The CPU training kernels (the depthwise convolution's backward, the fused BatchNorm + ReLU6) on random shapes,
// compiled with AddressSanitizer and UndefinedBehaviorSanitizer, against ATen's ops in float64: out-of-bounds reads
// or writes, overflow and wrong values at the edges the tests' fixed shapes do not reach (1×1 to 7×7 kernels,
// strides 1-3, padding up to half the kernel plus one on each side, even or not, 1-130 channels, float32 and bf16
// autocast, with and without a bias). Built and run by scripts/fuzz-kernels.sh; exits non-zero on any mismatch.
#include <ATen/ATen.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "compat.h"
#include "models/layers/batch_norm_act_cpu.h"
#include "models/layers/depthwise_conv_cpu.h"

namespace {

using foldtorch::compat::AutocastGuard;

// max |got − want| / max |want|.
double RelativeError(const at::Tensor& got, const at::Tensor& want) {
  return (got.to(at::kDouble) - want).abs().max().item<double>() / (want.abs().max().item<double>() + 1e-12);
}

// A value as bf16 would hold it, in float64.
at::Tensor RoundedTo(const at::Tensor& t, bool bf16) { return bf16 ? t.to(at::kBFloat16).to(at::kDouble) : t; }

class Fuzzer {
 public:
  explicit Fuzzer(unsigned seed) : rng_(seed) {}

  int Pick(int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng_); }

  // One depthwise case; returns whether it matched.
  bool DepthwiseCase(int index) {
    const int64_t n = Pick(1, 3), c = Pick(1, 130), k = std::vector<int64_t>{1, 3, 5, 7}[Pick(0, 3)];
    const int64_t stride = Pick(1, 3);
    // Even padding half the time, else each side its own (TF "SAME" pads one more at the bottom and right).
    const auto side = [&] { return static_cast<int64_t>(Pick(0, static_cast<int>(k / 2 + 1))); };
    const int64_t even = side();
    const bool uneven = Pick(0, 1) == 1;
    const foldtorch::layers::DepthwisePadding padding =
        uneven ? foldtorch::layers::DepthwisePadding{side(), side(), side(), side()}
               : foldtorch::layers::DepthwisePadding{even, even, even, even};
    const int64_t h = Pick(static_cast<int>(std::max<int64_t>(1, k - padding.top - padding.bottom)), 12);
    const int64_t w = Pick(static_cast<int>(std::max<int64_t>(1, k - padding.left - padding.right)), 12);
    const bool bf16 = Pick(0, 1) == 1, with_bias = Pick(0, 1) == 1;
    at::AutoGradMode grad_mode(true);
    const auto x64 = RoundedTo(at::randn({n, c, h, w}, at::kDouble), bf16);
    const auto w64 = RoundedTo(at::randn({c, 1, k, k}, at::kDouble), bf16);
    const auto b64 = RoundedTo(at::randn({c}, at::kDouble), bf16);
    auto x = x64.to(at::kFloat).contiguous(at::MemoryFormat::ChannelsLast).requires_grad_(true);
    auto weight = w64.to(at::kFloat).requires_grad_(true), bias = b64.to(at::kFloat).requires_grad_(true);
    at::Tensor y;
    {
      AutocastGuard autocast(c10::kCPU, at::kBFloat16, bf16);
      const at::Tensor maybe_bias = with_bias ? bias : at::Tensor();
      if (!foldtorch::layers::depthwise_conv_train_applies(x, weight, maybe_bias, c)) {
        std::printf("depthwise case %d: the path did not take it\n", index);
        return false;
      }
      y = foldtorch::layers::depthwise_conv2d_train(x, weight, maybe_bias, stride, padding);
    }
    const auto g64 = RoundedTo(at::randn(y.sizes(), at::kDouble), bf16);
    y.backward(g64.to(y.scalar_type()).contiguous(at::MemoryFormat::ChannelsLast));
    auto xr = x64.clone().requires_grad_(true), wr = w64.clone().requires_grad_(true);
    auto br = b64.clone().requires_grad_(true);
    const auto pad = [&](const at::Tensor& t) {
      return at::constant_pad_nd(t, {padding.left, padding.right, padding.top, padding.bottom}, 0);
    };
    at::conv2d(pad(xr), wr, with_bias ? br : at::Tensor(), stride, at::IntArrayRef{0}, 1, c).backward(g64);
    // bf16 rounds the output and input gradient once; weight and bias gradients are summed in float either way.
    const double rounded = bf16 ? 1.6e-2 : 1e-5;
    const double errors[] = {RelativeError(y.detach(), at::conv2d(pad(x64), w64, with_bias ? b64 : at::Tensor(), stride,
                                                                  at::IntArrayRef{0}, 1, c)),
                             RelativeError(x.grad(), xr.grad()), RelativeError(weight.grad(), wr.grad()),
                             with_bias ? RelativeError(bias.grad(), br.grad()) : 0.0};
    if (errors[0] <= rounded && errors[1] <= rounded && errors[2] <= 1e-5 && errors[3] <= 1e-5) return true;
    std::printf(
        "depthwise case %d (n %ld c %ld %ldx%ld k %ld stride %ld padding [%ld %ld %ld %ld] bf16 %d bias %d): output "
        "%.1e "
        "input grad %.1e weight grad %.1e bias grad %.1e\n",
        index, n, c, h, w, k, stride, padding.top, padding.bottom, padding.left, padding.right, bf16, with_bias,
        errors[0], errors[1], errors[2], errors[3]);
    return false;
  }

  // One fused BatchNorm + ReLU6 case; returns whether it matched.
  bool BatchNormCase(int index) {
    const int64_t n = Pick(1, 4), c = Pick(1, 130), h = Pick(1, 9), w = Pick(1, 9);
    if (n * h * w < 2) return true;  // one value per channel keeps ATen's path
    const bool bf16 = Pick(0, 1) == 1;
    at::AutoGradMode grad_mode(true);
    const auto x64 = RoundedTo(at::randn({n, c, h, w}, at::kDouble) * 2 + 1, bf16);
    const auto w64 = at::rand({c}, at::kDouble) + 0.5, b64 = at::randn({c}, at::kDouble);
    auto x = x64.to(bf16 ? at::kBFloat16 : at::kFloat).contiguous(at::MemoryFormat::ChannelsLast).requires_grad_(true);
    auto weight = w64.to(at::kFloat).requires_grad_(true), bias = b64.to(at::kFloat).requires_grad_(true);
    auto mean = at::zeros({c}), var = at::ones({c});
    auto y = foldtorch::layers::fused_batch_norm_act_train(x, weight, bias, mean, var, 0.1, 1e-3, /*relu6=*/true);
    const auto g64 = RoundedTo(at::randn({n, c, h, w}, at::kDouble), bf16);
    y.backward(g64.to(y.scalar_type()).contiguous(at::MemoryFormat::ChannelsLast));
    auto xr = x64.clone().requires_grad_(true), wr = w64.clone().requires_grad_(true);
    auto br = b64.clone().requires_grad_(true);
    auto mean_r = at::zeros({c}, at::kDouble), var_r = at::ones({c}, at::kDouble);
    auto yr = at::hardtanh(at::batch_norm(xr, wr, br, mean_r, var_r, true, 0.1, 1e-3, false), 0, 6);
    yr.backward(g64);
    // The input gradient is compared where no pre-activation sits at the clamp's kinks within rounding.
    const auto pre = at::batch_norm(x64, w64, b64, {}, {}, true, 0.1, 1e-3, false);
    const auto clear = ((pre - 0).abs() > 1e-3) & ((pre - 6).abs() > 1e-3);
    const double rounded = bf16 ? 1.6e-2 : 1e-5;
    const double errors[] = {RelativeError(y.detach(), yr.detach()),
                             RelativeError(x.grad().to(at::kDouble) * clear, xr.grad() * clear),
                             RelativeError(mean, mean_r), RelativeError(var, var_r)};
    if (errors[0] <= rounded && errors[1] <= 20 * rounded && errors[2] <= 1e-5 && errors[3] <= 1e-5) return true;
    std::printf(
        "batch norm case %d (n %ld c %ld %ldx%ld bf16 %d): output %.1e input grad %.1e running mean %.1e "
        "running var %.1e\n",
        index, n, c, h, w, bf16, errors[0], errors[1], errors[2], errors[3]);
    return false;
  }

 private:
  std::mt19937 rng_;
};

}  // namespace

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 400;
  const unsigned seed = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 1;
  at::manual_seed(seed);
  Fuzzer fuzzer(seed);
  int failures = 0;
  for (int i = 0; i < count; ++i) failures += fuzzer.DepthwiseCase(i) ? 0 : 1;
  for (int i = 0; i < count; ++i) failures += fuzzer.BatchNormCase(i) ? 0 : 1;
  std::printf("kernels: %d depthwise and %d batch-norm cases, %d mismatched (seed %u)\n", count, count, failures, seed);
  return failures == 0 ? 0 : 1;
}
