// What the hand-written CPU training kernels (fused BatchNorm, depthwise convolution backward) share: float32 or
// bfloat16 storage read into float and rounded back as c10::BFloat16 does, and plain loops over contiguous channels
// compiled once per x86-64 level, so the prebuilt binary vectorises on AVX2 and AVX-512 machines alike.
#pragma once

#include <ATen/Parallel.h>
#include <ATen/Tensor.h>

#include <algorithm>

#include <cstdint>
#include <cstring>
#include <vector>

namespace foldtorch::layers::cpu_kernels {

// x86-64-v3/v4 as target names need GCC 11; older compilers and clang build the plain loops once. A build may define
// it first to pin one level (scripts/fuzz-kernels.sh --isa checks each clone on any machine).
#ifdef FOLDTORCH_ROW_KERNEL
#elif defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#define FOLDTORCH_ROW_KERNEL \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"), optimize("O3")))
#else
#define FOLDTORCH_ROW_KERNEL
#endif

// ATen's grain: below it one thread does the whole pass.
constexpr int64_t kGrainValues = 32768;

// bfloat16 as its bits; the kernels take float or this.
using Bf16Bits = uint16_t;

inline float Load(float value) { return value; }
inline float Load(Bf16Bits bits) {
  const uint32_t word = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &word, sizeof value);
  return value;
}

inline void Store(float& out, float value) { out = value; }
inline void Store(Bf16Bits& out, float value) {  // round to nearest even; NaN stays NaN (c10's rule)
  uint32_t word;
  std::memcpy(&word, &value, sizeof word);
  const auto rounded = static_cast<Bf16Bits>((word + 0x7FFFU + ((word >> 16) & 1U)) >> 16);
  out = value != value ? Bf16Bits{0x7FC0} : rounded;
}

// Calls `f(T{})` with T the kernels' storage type for `dtype` (float32 or bfloat16).
template <typename F>
decltype(auto) WithStorage(at::ScalarType dtype, const F& f) {
  return dtype == at::kBFloat16 ? f(Bf16Bits{}) : f(float{});
}

template <typename T>
const T* ValuesOf(const at::Tensor& t) {
  return static_cast<const T*>(t.const_data_ptr());
}

template <typename T>
T* MutableValuesOf(at::Tensor& t) {
  return static_cast<T*>(t.mutable_data_ptr());
}

// How many contiguous row ranges a pass splits into: one per thread, fewer when the work is small.
inline int64_t ChunkCount(int64_t rows, int64_t channels) {
  const int64_t by_work = std::max<int64_t>(1, rows * channels / kGrainValues);
  return std::max<int64_t>(1, std::min<int64_t>({at::get_num_threads(), by_work, rows}));
}

// Runs `pass(chunk, first_row, row_count)` over every row, the chunks in parallel.
template <typename Pass>
void ForEachChunk(int64_t rows, int64_t chunks, const Pass& pass) {
  at::parallel_for(0, chunks, 1, [&](int64_t first_chunk, int64_t end_chunk) {
    for (int64_t chunk = first_chunk; chunk < end_chunk; ++chunk) {
      const int64_t begin = rows * chunk / chunks, end = rows * (chunk + 1) / chunks;
      pass(chunk, begin, end - begin);
    }
  });
}

// `values` sums over every row: `add_chunk(first_row, row_count, total)` adds one chunk's terms into its own zeroed
// `total` (doubles), the chunks in parallel, and the chunks are added in their order, so the result depends on the
// thread count only (as ATen's reductions do).
template <typename AddChunk>
std::vector<double> SumOverChunks(int64_t rows, int64_t chunks, int64_t values, const AddChunk& add_chunk) {
  std::vector<double> partial(static_cast<size_t>(chunks * values), 0.0);
  ForEachChunk(rows, chunks, [&](int64_t chunk, int64_t begin, int64_t count) {
    add_chunk(begin, count, partial.data() + chunk * values);
  });
  std::vector<double> sum(static_cast<size_t>(values), 0.0);
  for (int64_t chunk = 0; chunk < chunks; ++chunk)
    for (int64_t v = 0; v < values; ++v) sum[v] += partial[chunk * values + v];
  return sum;
}

// How many threads ForEachChunk spreads `chunks` chunks over: at most the intra-op thread count, and 1 when this
// code was compiled without OpenMP (at::parallel_for then runs every chunk on the caller). `foldtorch doctor` says.
int ThreadsRunningChunks(int64_t chunks);

}  // namespace foldtorch::layers::cpu_kernels
