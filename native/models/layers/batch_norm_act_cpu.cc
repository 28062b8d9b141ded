// The fused training BatchNorm (+ ReLU6). Activations are a [rows, channels] matrix (channels-last: rows are
// N·H·W positions). Per-channel sums are taken in float within blocks of rows and in double across blocks; the
// statistics pass subtracts the first row first (the shifted-data algorithm), so the variance does not cancel when
// a channel's mean is large against its spread. Activations are float32, or bfloat16 (under autocast) read into float
// and rounded back to nearest-even as c10::BFloat16 does. The row kernels are plain loops over contiguous channels,
// compiled once per x86-64 level so the prebuilt binary vectorises on AVX2 and AVX-512 machines alike.
#include "models/layers/batch_norm_act_cpu.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "models/layers/cpu_kernels.h"

namespace foldtorch::layers {

namespace {

using namespace cpu_kernels;  // NOLINT(google-build-using-namespace): the kernels' shared vocabulary

constexpr int64_t kBlockRows = 64;  // float accumulation span; double beyond it

// The clamp bounds of the activation: ReLU6, or none.
struct Bounds {
  float low, high;
};

Bounds BoundsOf(bool relu6) {
  return relu6 ? Bounds{0.0F, 6.0F}
               : Bounds{-std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity()};
}

// sum += x − shift, square_sum += (x − shift)² over `rows` rows.
template <typename T>
FOLDTORCH_ROW_KERNEL void AddShiftedMoments(const T* __restrict x, int64_t rows, int64_t channels,
                                            const float* __restrict shift, float* __restrict sum,
                                            float* __restrict square_sum) {
  for (int64_t r = 0; r < rows; ++r, x += channels) {
#pragma GCC ivdep
    for (int64_t c = 0; c < channels; ++c) {
      const float d = Load(x[c]) - shift[c];
      sum[c] += d;
      square_sum[c] += d * d;
    }
  }
}

// y = clamp(x·scale + shift, low, high).
template <typename T>
FOLDTORCH_ROW_KERNEL void ScaleShiftClamp(const T* __restrict x, T* __restrict y, int64_t rows, int64_t channels,
                                          const float* __restrict scale, const float* __restrict shift, float low,
                                          float high) {
  for (int64_t r = 0; r < rows; ++r, x += channels, y += channels) {
#pragma GCC ivdep
    for (int64_t c = 0; c < channels; ++c) Store(y[c], std::min(std::max(Load(x[c]) * scale[c] + shift[c], low), high));
  }
}

// With g' = g where low < x·scale + shift < high (the activation passed it through), else 0:
// sum += g', centred_sum += g'·(x − mean).
template <typename T>
FOLDTORCH_ROW_KERNEL void AddGradientMoments(const T* __restrict g, const T* __restrict x, int64_t rows,
                                             int64_t channels, const float* __restrict scale,
                                             const float* __restrict shift, const float* __restrict mean, float low,
                                             float high, float* __restrict sum, float* __restrict centred_sum) {
  for (int64_t r = 0; r < rows; ++r, g += channels, x += channels) {
#pragma GCC ivdep
    for (int64_t c = 0; c < channels; ++c) {
      const float value = Load(x[c]), pre = value * scale[c] + shift[c];
      const float gradient = Load(g[c]);  // loaded unconditionally: vectorisable
      const float passed = (pre > low) & (pre < high) ? gradient : 0.0F;
      sum[c] += passed;
      centred_sum[c] += passed * (value - mean[c]);
    }
  }
}

// dx = a·g' + b·(x − mean) + k (g' as above): BatchNorm's input gradient with its per-channel terms folded into
// a, b, k. x − mean stays explicit: folded into k it would cancel when a channel's mean is large.
template <typename T>
FOLDTORCH_ROW_KERNEL void InputGradient(const T* __restrict g, const T* __restrict x, T* __restrict dx, int64_t rows,
                                        int64_t channels, const float* __restrict scale, const float* __restrict shift,
                                        const float* __restrict mean, float low, float high, const float* __restrict a,
                                        const float* __restrict b, const float* __restrict k) {
  for (int64_t r = 0; r < rows; ++r, g += channels, x += channels, dx += channels) {
#pragma GCC ivdep
    for (int64_t c = 0; c < channels; ++c) {
      const float value = Load(x[c]), pre = value * scale[c] + shift[c];
      const float gradient = Load(g[c]);  // loaded unconditionally: vectorisable
      const float passed = (pre > low) & (pre < high) ? gradient : 0.0F;
      Store(dx[c], a[c] * passed + b[c] * (value - mean[c]) + k[c]);
    }
  }
}

// Two per-channel sums over all rows: `add_block(first_row, row_count, sum, second_sum)` adds a block's terms into
// zeroed float accumulators; blocks are gathered in double (SumOverChunks).
template <typename AddBlock>
std::pair<std::vector<double>, std::vector<double>> SumOverRows(int64_t rows, int64_t channels,
                                                                const AddBlock& add_block) {
  const auto sums =
      SumOverChunks(rows, ChunkCount(rows, channels), 2 * channels, [&](int64_t begin, int64_t count, double* total) {
        std::vector<float> block(static_cast<size_t>(2 * channels));
        for (int64_t row = begin; row < begin + count; row += kBlockRows) {
          std::fill(block.begin(), block.end(), 0.0F);
          add_block(row, std::min(kBlockRows, begin + count - row), block.data(), block.data() + channels);
          for (int64_t c = 0; c < 2 * channels; ++c) total[c] += block[c];
        }
      });
  return {std::vector<double>(sums.begin(), sums.begin() + channels),
          std::vector<double>(sums.begin() + channels, sums.end())};
}

std::vector<float> FloatsOf(const at::Tensor& t) {
  auto contiguous = t.detach().to(at::kFloat).contiguous();
  return {contiguous.data_ptr<float>(), contiguous.data_ptr<float>() + contiguous.numel()};
}

at::Tensor TensorOf(const std::vector<double>& values) {
  auto out = at::empty({static_cast<int64_t>(values.size())}, at::kFloat);
  std::copy(values.begin(), values.end(), out.data_ptr<float>());
  return out;
}

// Rows of a channels-last [N, C, H, W] tensor seen as a [N·H·W, C] matrix.
int64_t RowsOf(const at::Tensor& x) { return x.numel() / x.size(1); }

// The affine map the forward applied, y = clamp(x·scale + shift): scale = weight·invstd, shift = bias − mean·scale.
struct Affine {
  std::vector<float> scale, shift;
};

Affine AffineOf(const std::vector<float>& weight, const std::vector<float>& bias, const std::vector<float>& mean,
                const std::vector<float>& invstd) {
  Affine affine{std::vector<float>(weight.size()), std::vector<float>(weight.size())};
  for (size_t c = 0; c < weight.size(); ++c) {
    affine.scale[c] = weight[c] * invstd[c];
    affine.shift[c] = bias[c] - mean[c] * affine.scale[c];
  }
  return affine;
}

class BatchNormActFunction : public torch::autograd::Function<BatchNormActFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& bias, at::Tensor running_mean, at::Tensor running_var, double momentum,
                            double eps, bool relu6) {
    const int64_t rows = RowsOf(x), channels = x.size(1);
    std::vector<float> origin(channels);  // the first row: the shift of the shifted-data algorithm
    const auto [shifted_sum, shifted_square_sum] = WithStorage(x.scalar_type(), [&](auto tag) {
      using T = decltype(tag);
      const T* data = ValuesOf<T>(x);
      for (int64_t c = 0; c < channels; ++c) origin[c] = Load(data[c]);
      return SumOverRows(rows, channels, [&](int64_t row, int64_t count, float* sum, float* square_sum) {
        AddShiftedMoments(data + row * channels, count, channels, origin.data(), sum, square_sum);
      });
    });
    std::vector<float> mean(channels), invstd(channels);
    std::vector<double> batch_mean(channels), unbiased_var(channels);
    const double n = static_cast<double>(rows);
    for (int64_t c = 0; c < channels; ++c) {
      const double offset = shifted_sum[c] / n;
      const double var = std::max(shifted_square_sum[c] / n - offset * offset, 0.0);
      batch_mean[c] = origin[c] + offset;
      unbiased_var[c] = var * n / (n - 1.0);
      mean[c] = static_cast<float>(batch_mean[c]);
      invstd[c] = static_cast<float>(1.0 / std::sqrt(var + eps));
    }
    {
      at::NoGradGuard no_grad;
      running_mean.mul_(1.0 - momentum).add_(TensorOf(batch_mean).to(running_mean.dtype()), momentum);
      running_var.mul_(1.0 - momentum).add_(TensorOf(unbiased_var).to(running_var.dtype()), momentum);
    }
    const auto affine = AffineOf(FloatsOf(weight), FloatsOf(bias), mean, invstd);
    const Bounds bounds = BoundsOf(relu6);
    auto y = at::empty_like(x, at::MemoryFormat::ChannelsLast);
    WithStorage(x.scalar_type(), [&](auto tag) {
      using T = decltype(tag);
      const T* data = ValuesOf<T>(x);
      T* out = MutableValuesOf<T>(y);
      ForEachChunk(rows, ChunkCount(rows, channels), [&](int64_t, int64_t row, int64_t count) {
        ScaleShiftClamp(data + row * channels, out + row * channels, count, channels, affine.scale.data(),
                        affine.shift.data(), bounds.low, bounds.high);
      });
    });
    ctx->save_for_backward({x, weight, bias});
    ctx->saved_data["mean"] = at::tensor(mean);
    ctx->saved_data["invstd"] = at::tensor(invstd);
    ctx->saved_data["relu6"] = relu6;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const auto weight = FloatsOf(saved[1]);
    const auto mean = FloatsOf(ctx->saved_data["mean"].toTensor());
    const auto invstd = FloatsOf(ctx->saved_data["invstd"].toTensor());
    const auto affine = AffineOf(weight, FloatsOf(saved[2]), mean, invstd);
    const Bounds bounds = BoundsOf(ctx->saved_data["relu6"].toBool());
    const auto grad = grad_outputs[0].to(x.scalar_type()).contiguous(at::MemoryFormat::ChannelsLast);
    const int64_t rows = RowsOf(x), channels = x.size(1);
    const auto [grad_sum, centred_sum] = WithStorage(x.scalar_type(), [&](auto tag) {
      using T = decltype(tag);
      const T *g = ValuesOf<T>(grad), *data = ValuesOf<T>(x);
      return SumOverRows(rows, channels, [&](int64_t row, int64_t count, float* sum, float* centred) {
        AddGradientMoments(g + row * channels, data + row * channels, count, channels, affine.scale.data(),
                           affine.shift.data(), mean.data(), bounds.low, bounds.high, sum, centred);
      });
    });
    // dx = weight·invstd·(g' − Σg'/n − (x − mean)·invstd²·Σg'(x − mean)/n) = a·g' + b·(x − mean) + k.
    std::vector<float> a(channels), b(channels), k(channels);
    std::vector<double> grad_weight(channels);
    const double n = static_cast<double>(rows);
    for (int64_t c = 0; c < channels; ++c) {
      const double s = invstd[c], ac = static_cast<double>(weight[c]) * s;
      const double bc = -ac * s * s * centred_sum[c] / n;
      a[c] = static_cast<float>(ac);
      b[c] = static_cast<float>(bc);
      k[c] = static_cast<float>(-ac * grad_sum[c] / n);
      grad_weight[c] = centred_sum[c] * s;
    }
    auto dx = at::empty_like(x, at::MemoryFormat::ChannelsLast);
    WithStorage(x.scalar_type(), [&](auto tag) {
      using T = decltype(tag);
      const T *g = ValuesOf<T>(grad), *data = ValuesOf<T>(x);
      T* out = MutableValuesOf<T>(dx);
      ForEachChunk(rows, ChunkCount(rows, channels), [&](int64_t, int64_t row, int64_t count) {
        InputGradient(g + row * channels, data + row * channels, out + row * channels, count, channels,
                      affine.scale.data(), affine.shift.data(), mean.data(), bounds.low, bounds.high, a.data(),
                      b.data(), k.data());
      });
    });
    return {dx,
            TensorOf(grad_weight).to(saved[1].dtype()),
            TensorOf(grad_sum).to(saved[2].dtype()),
            at::Tensor(),
            at::Tensor(),
            at::Tensor(),
            at::Tensor(),
            at::Tensor()};
  }
};

}  // namespace

bool fused_batch_norm_act_applies(const at::Tensor& x) {
  const auto dtype = x.scalar_type();
  return x.device().is_cpu() && (dtype == at::kFloat || dtype == at::kBFloat16) && x.dim() == 4 &&
         x.is_contiguous(at::MemoryFormat::ChannelsLast) && x.numel() / std::max<int64_t>(x.size(1), 1) > 1;
}

at::Tensor fused_batch_norm_act_train(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                      at::Tensor& running_mean, at::Tensor& running_var, double momentum, double eps,
                                      bool relu6) {
  return BatchNormActFunction::apply(x, weight, bias, running_mean, running_var, momentum, eps, relu6);
}

}  // namespace foldtorch::layers
