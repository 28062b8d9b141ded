// The depthwise convolution's backward on channels-last tensors: image n's value (h, w, c) sits at
// ((n·H + h)·W + w)·C + c, so every tap is a contiguous run of channels and the loops vectorise over channels.
// Channels go in tiles of up to 64: a tap's 64 accumulators fit in registers, a row of them in L1. The weight gradient
// sums in float within blocks of output positions and in double across blocks; the input gradient adds its at most
// kernel² taps in float.
#include "models/layers/depthwise_conv_cpu.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "models/layers/cpu_kernels.h"

namespace foldtorch::layers {

namespace {

using namespace cpu_kernels;  // NOLINT(google-build-using-namespace): the kernels' shared vocabulary

constexpr int64_t kChannelTile = 64;
// The weight gradient sums in float over blocks of whole output rows, at least 64 positions (or one row when wider),
// and in double across blocks.
constexpr int64_t kBlockPositions = 64;

struct Geometry {
  int64_t batch, channels, height, width, out_height, out_width, kernel, stride;
  int64_t pad_top, pad_left;  // the bottom and right padding follow from the output size
  int64_t taps() const { return kernel * kernel; }
  int64_t image_values() const { return height * width * channels; }
  int64_t out_image_values() const { return out_height * out_width * channels; }
};

Geometry GeometryOf(const at::Tensor& x, const at::Tensor& weight, int64_t stride, const DepthwisePadding& p) {
  const int64_t kernel = weight.size(2);
  return {x.size(0),
          x.size(1),
          x.size(2),
          x.size(3),
          (x.size(2) + p.top + p.bottom - kernel) / stride + 1,
          (x.size(3) + p.left + p.right - kernel) / stride + 1,
          kernel,
          stride,
          p.top,
          p.left};
}

// The output columns whose tap j lands inside the input row: ow·S + j − P in [0, W) for ow in [first, end).
int64_t FirstColumn(int64_t j, const Geometry& s) {
  const int64_t before = s.pad_left - j;
  return before <= 0 ? 0 : (before + s.stride - 1) / s.stride;
}
int64_t EndColumn(int64_t j, const Geometry& s) {
  const int64_t last = s.width - 1 + s.pad_left - j;
  return last < 0 ? 0 : std::min(s.out_width, last / s.stride + 1);
}

// Kernels take a channel tile of kTile channels, or of `tile` when kTile is 0: a constant width lets the compiler
// keep a tap's accumulators in registers.
template <int64_t kTile>
int64_t TileWidth(int64_t tile) {
  return kTile > 0 ? kTile : tile;
}

// The tile width for `channels`: the widest of 64, 48, 32, 16 that divides them (EfficientNet's 240, 480 and 672
// take 48), else 64 with a partial last tile.
int64_t TileWidthFor(int64_t channels) {
  for (const int64_t width : {kChannelTile, int64_t{48}, int64_t{32}, int64_t{16}})
    if (channels % width == 0) return width;
  return kChannelTile;
}

// Calls `f(std::integral_constant<int64_t, W>{})` with W = `tile` when it is one of the compiled widths, else W = 0.
template <typename F>
void WithTile(int64_t tile, const F& f) {
  switch (tile) {
    case 64:
      return f(std::integral_constant<int64_t, 64>{});
    case 48:
      return f(std::integral_constant<int64_t, 48>{});
    case 32:
      return f(std::integral_constant<int64_t, 32>{});
    case 16:
      return f(std::integral_constant<int64_t, 16>{});
    default:
      return f(std::integral_constant<int64_t, 0>{});
  }
}

// acc[(i·K + j)·width + c] += Σ_ow grad[oh, ow, c] · input[oh·S + i − P, ow·S + j − P, c] over output row `oh` of one
// image, for the channels of one tile (`grad` and `input` point at the image's first value of the tile).
template <typename T, int64_t kTile>
FOLDTORCH_ROW_KERNEL void AddWeightGradientRow(const T* __restrict grad, const T* __restrict input, const Geometry& s,
                                               int64_t oh, int64_t tile, float* __restrict acc) {
  const int64_t width = TileWidth<kTile>(tile), channels = s.channels, kernel = s.kernel;
  const T* grad_row = grad + oh * s.out_width * channels;
  for (int64_t i = 0; i < kernel; ++i) {
    const int64_t ih = oh * s.stride + i - s.pad_top;
    if (ih < 0 || ih >= s.height) continue;
    const T* input_row = input + ih * s.width * channels;
    for (int64_t j = 0; j < kernel; ++j) {
      float sum[kChannelTile];
      float* a = acc + (i * kernel + j) * width;
      for (int64_t c = 0; c < width; ++c) sum[c] = a[c];
      for (int64_t ow = FirstColumn(j, s), end = EndColumn(j, s); ow < end; ++ow) {
        const T* g = grad_row + ow * channels;
        const T* x = input_row + (ow * s.stride + j - s.pad_left) * channels;
        for (int64_t c = 0; c < width; ++c) sum[c] += Load(g[c]) * Load(x[c]);
      }
      for (int64_t c = 0; c < width; ++c) a[c] = sum[c];
    }
  }
}

// dx[ih, iw, c] = Σ grad[oh, ow, c] · weight[i·K + j, c] over the taps with oh·S + i − P = ih and ow·S + j − P = iw,
// for input row `ih` of one image and the channels of one tile (`grad`, `weight` ([K², C]) and `dx` point at its
// first channel). Each tap adds its contiguous run of output columns into `row` ([W, width] floats).
template <typename T, int64_t kTile>
FOLDTORCH_ROW_KERNEL void InputGradientRow(const T* __restrict grad, const float* __restrict weight, const Geometry& s,
                                           int64_t ih, int64_t tile, T* __restrict dx, float* __restrict row) {
  const int64_t width = TileWidth<kTile>(tile), channels = s.channels, kernel = s.kernel;
  for (int64_t v = 0; v < s.width * width; ++v) row[v] = 0.0F;
  for (int64_t i = 0; i < kernel; ++i) {
    const int64_t th = ih + s.pad_top - i;
    if (th < 0 || th % s.stride != 0 || th / s.stride >= s.out_height) continue;
    const T* grad_row = grad + th / s.stride * s.out_width * channels;
    for (int64_t j = 0; j < kernel; ++j) {
      float w[kChannelTile];
      for (int64_t c = 0; c < width; ++c) w[c] = weight[(i * kernel + j) * channels + c];
      for (int64_t ow = FirstColumn(j, s), end = EndColumn(j, s); ow < end; ++ow) {
        const T* g = grad_row + ow * channels;
        float* a = row + (ow * s.stride + j - s.pad_left) * width;
        for (int64_t c = 0; c < width; ++c) a[c] += Load(g[c]) * w[c];
      }
    }
  }
  for (int64_t iw = 0; iw < s.width; ++iw)
    for (int64_t c = 0; c < width; ++c) Store(dx[iw * channels + c], row[iw * width + c]);
}

// The weight gradient [C, 1, K, K] in float: output rows (n, oh) split into chunks, summed with SumOverChunks.
at::Tensor WeightGradient(const at::Tensor& grad, const at::Tensor& x, const Geometry& s) {
  const int64_t rows = s.batch * s.out_height, taps = s.taps(), channels = s.channels;
  const int64_t block_rows = std::max<int64_t>(1, kBlockPositions / s.out_width);
  const int64_t tile_width = TileWidthFor(channels);
  const std::vector<double> by_tap = WithStorage(x.scalar_type(), [&](auto tag) {
    using T = decltype(tag);
    const T *g = ValuesOf<T>(grad), *input = ValuesOf<T>(x);
    return SumOverChunks(rows, ChunkCount(rows, s.out_width * channels * taps), taps * channels,
                         [&](int64_t begin, int64_t count, double* total) {
                           std::vector<float> acc(static_cast<size_t>(taps * kChannelTile));
                           for (int64_t c0 = 0; c0 < channels; c0 += tile_width) {
                             const int64_t tile = std::min(tile_width, channels - c0);
                             for (int64_t row = begin; row < begin + count; row += block_rows) {
                               std::fill(acc.begin(), acc.end(), 0.0F);
                               for (int64_t r = row; r < std::min(row + block_rows, begin + count); ++r) {
                                 const int64_t n = r / s.out_height, oh = r % s.out_height;
                                 const T* grad_image = g + n * s.out_image_values() + c0;
                                 const T* input_image = input + n * s.image_values() + c0;
                                 WithTile(tile, [&](auto width) {
                                   AddWeightGradientRow<T, decltype(width)::value>(grad_image, input_image, s, oh, tile,
                                                                                   acc.data());
                                 });
                               }
                               for (int64_t tap = 0; tap < taps; ++tap)
                                 for (int64_t c = 0; c < tile; ++c)
                                   total[tap * channels + c0 + c] += acc[tap * tile + c];
                             }
                           }
                         });
  });
  // [K², C] → [C, 1, K, K].
  auto out = at::empty({channels, 1, s.kernel, s.kernel}, at::kFloat);
  float* values = out.data_ptr<float>();
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t tap = 0; tap < taps; ++tap) values[c * taps + tap] = static_cast<float>(by_tap[tap * channels + c]);
  return out;
}

// The input gradient in x's dtype and layout; `weight` is the weight the forward used.
at::Tensor InputGradient(const at::Tensor& grad, const at::Tensor& weight, const at::Tensor& x, const Geometry& s) {
  const int64_t taps = s.taps(), channels = s.channels;
  // [C, 1, K, K] → [K², C]: each tap's channels contiguous, as the activations'.
  const auto by_tap = weight.detach().to(at::kFloat).reshape({channels, taps}).t().contiguous();
  const float* weights = by_tap.const_data_ptr<float>();
  auto dx = at::empty_like(x, at::MemoryFormat::ChannelsLast);
  const int64_t rows = s.batch * s.height;
  const int64_t chunks = ChunkCount(rows, s.width * channels * taps / (s.stride * s.stride));
  WithStorage(x.scalar_type(), [&](auto tag) {
    using T = decltype(tag);
    const T* g = ValuesOf<T>(grad);
    T* out = MutableValuesOf<T>(dx);
    ForEachChunk(rows, chunks, [&](int64_t, int64_t begin, int64_t count) {
      std::vector<float> row(static_cast<size_t>(s.width * kChannelTile));
      const int64_t tile_width = TileWidthFor(channels);
      for (int64_t r = begin; r < begin + count; ++r) {
        const int64_t n = r / s.height, ih = r % s.height;
        for (int64_t c0 = 0; c0 < channels; c0 += tile_width) {
          const int64_t tile = std::min(tile_width, channels - c0);
          const T* grad_image = g + n * s.out_image_values() + c0;
          T* dx_row = out + r * s.width * channels + c0;
          WithTile(tile, [&](auto width) {
            InputGradientRow<T, decltype(width)::value>(grad_image, weights + c0, s, ih, tile, dx_row, row.data());
          });
        }
      }
    });
  });
  return dx;
}

class DepthwiseConvFunction : public torch::autograd::Function<DepthwiseConvFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const std::optional<at::Tensor>& bias, int64_t stride, std::vector<int64_t> padding) {
    const auto computed_weight = weight.to(x.scalar_type());
    const auto computed_bias = bias ? std::optional<at::Tensor>(bias->to(x.scalar_type())) : std::nullopt;
    at::Tensor y;
    {
      // x, the weight and the bias already have the dtype autocast would choose.
      c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
      const int64_t top = padding[0], bottom = padding[1], left = padding[2], right = padding[3];
      if (top == bottom && left == right) {
        y = at::conv2d(x, computed_weight, computed_bias, at::IntArrayRef{stride}, at::IntArrayRef{top, left},
                       at::IntArrayRef{1}, x.size(1));
      } else {
        // Uneven padding (TF "SAME" at stride 2) is materialised for oneDNN's forward only: the backward reads x
        // with the offsets, so no pad gradient is copied back.
        const auto padded = at::constant_pad_nd(x, {left, right, top, bottom}, 0);
        y = at::conv2d(padded.contiguous(at::MemoryFormat::ChannelsLast), computed_weight, computed_bias,
                       at::IntArrayRef{stride}, at::IntArrayRef{0}, at::IntArrayRef{1}, x.size(1));
      }
    }
    ctx->save_for_backward({x, weight});
    ctx->saved_data["bias_dtype"] = bias ? c10::IValue(bias->scalar_type()) : c10::IValue();
    ctx->saved_data["stride"] = stride;
    ctx->saved_data["padding"] = padding;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &weight = saved[1];
    const auto pads = ctx->saved_data["padding"].toIntVector();
    const Geometry s = GeometryOf(x, weight, ctx->saved_data["stride"].toInt(), {pads[0], pads[1], pads[2], pads[3]});
    const auto grad = grad_outputs[0].to(x.scalar_type()).contiguous(at::MemoryFormat::ChannelsLast);
    at::Tensor grad_input, grad_weight, grad_bias;
    if (ctx->needs_input_grad(0)) grad_input = InputGradient(grad, weight.to(x.scalar_type()), x, s);
    if (ctx->needs_input_grad(1)) grad_weight = WeightGradient(grad, x, s).to(weight.scalar_type());
    // An absent bias is no input edge: index 2 exists only with one.
    if (!ctx->saved_data["bias_dtype"].isNone() && ctx->needs_input_grad(2)) {
      grad_bias = grad.sum({0, 2, 3}, /*keepdim=*/false, at::kFloat).to(ctx->saved_data["bias_dtype"].toScalarType());
    }
    return {grad_input, grad_weight, grad_bias, at::Tensor(), at::Tensor()};
  }
};

// FOLDTORCH_DEPTHWISE_BACKWARD=aten at load turns the path off; set_depthwise_backward_enabled changes it later.
std::atomic<bool>& DepthwiseBackwardSwitch() {
  static std::atomic<bool> enabled([] {
    const char* choice = std::getenv("FOLDTORCH_DEPTHWISE_BACKWARD");
    return choice == nullptr || std::string(choice) != "aten";
  }());
  return enabled;
}

bool CpuAutocast() { return at::autocast::is_autocast_enabled(at::kCPU); }

// The dtype at::conv2d computes in: CPU autocast casts every reduced or single precision input to its dtype.
at::ScalarType ComputeDtype(const at::Tensor& x) {
  const auto dtype = x.scalar_type();
  const bool cast = dtype == at::kFloat || dtype == at::kBFloat16 || dtype == at::kHalf;
  return cast && CpuAutocast() ? at::autocast::get_autocast_dtype(at::kCPU) : dtype;
}

}  // namespace

bool depthwise_backward_enabled() { return DepthwiseBackwardSwitch().load(); }

void set_depthwise_backward_enabled(bool enabled) { DepthwiseBackwardSwitch().store(enabled); }

bool depthwise_conv_train_applies(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                                  int64_t groups) {
  const auto takes = [](const at::Tensor& t) {
    return t.device().is_cpu() && (t.scalar_type() == at::kFloat || t.scalar_type() == at::kBFloat16);
  };
  if (!depthwise_backward_enabled()) return false;
  const auto dtype = ComputeDtype(x);
  const bool differentiated = at::GradMode::is_enabled() &&
                              (x.requires_grad() || weight.requires_grad() || (bias.defined() && bias.requires_grad()));
  // Without autocast at::conv2d refuses mixed dtypes; under it, everything is cast to `dtype`.
  const bool same_dtypes =
      CpuAutocast() || (weight.scalar_type() == dtype && (!bias.defined() || bias.scalar_type() == dtype));
  return differentiated && same_dtypes && takes(x) && takes(weight) &&
         (dtype == at::kFloat || dtype == at::kBFloat16) && x.dim() == 4 && weight.dim() == 4 &&
         x.is_contiguous(at::MemoryFormat::ChannelsLast) && groups == x.size(1) && weight.size(0) == groups &&
         weight.size(1) == 1 && weight.size(2) == weight.size(3) &&
         (!bias.defined() || (takes(bias) && bias.dim() == 1 && bias.size(0) == groups));
}

at::Tensor depthwise_conv2d_train(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias, int64_t stride,
                                  const DepthwisePadding& padding) {
  const auto& p = padding;
  TORCH_CHECK_VALUE(stride >= 1 && p.top >= 0 && p.bottom >= 0 && p.left >= 0 && p.right >= 0,
                    "depthwise_conv2d_train: expected stride >= 1 and padding >= 0, got ", stride, " and [", p.top,
                    ", ", p.bottom, ", ", p.left, ", ", p.right, "]");
  const auto input = x.to(ComputeDtype(x));
  TORCH_CHECK_VALUE(
      input.size(2) + p.top + p.bottom >= weight.size(2) && input.size(3) + p.left + p.right >= weight.size(3),
      "depthwise_conv2d_train: a ", weight.size(2), "×", weight.size(3), " kernel does not fit a ", input.size(2), "×",
      input.size(3), " input padded by [", p.top, ", ", p.bottom, ", ", p.left, ", ", p.right, "]");
  // An absent bias goes in as none, which autograd records as no input.
  return DepthwiseConvFunction::apply(input, weight, bias.defined() ? std::optional<at::Tensor>(bias) : std::nullopt,
                                      stride, std::vector<int64_t>{p.top, p.bottom, p.left, p.right});
}

}  // namespace foldtorch::layers
