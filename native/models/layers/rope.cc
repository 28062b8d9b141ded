// RotaryEmbeddingCat: the sin/cos tables and their application to queries and keys.
#include "models/layers/rope.h"

#include <ATen/ATen.h>

namespace foldtorch::layers {

RopeTable build_rope_cat(int64_t grid_h, int64_t grid_w, int64_t head_dim,
                         std::optional<std::pair<int64_t, int64_t>> ref_feat_shape, double temperature,
                         double grid_offset) {
  TORCH_CHECK(head_dim % 4 == 0, "rope: head dim must be divisible by 4 (got ", head_dim, ")");
  const int64_t num_bands = head_dim / 4;
  // Same float32 op sequence as timm's freq_bands / build_fourier_pos_embed.
  auto exponent =
      at::arange(num_bands, at::TensorOptions().dtype(at::kLong)).to(at::kFloat) / static_cast<double>(num_bands);
  auto bands = at::pow(temperature, exponent).reciprocal();
  auto t_h = at::arange(grid_h, at::TensorOptions().dtype(at::kLong)).to(at::kFloat) + grid_offset;
  auto t_w = at::arange(grid_w, at::TensorOptions().dtype(at::kLong)).to(at::kFloat) + grid_offset;
  if (ref_feat_shape) {
    t_h = t_h / static_cast<double>(grid_h) * static_cast<double>(ref_feat_shape->first);
    t_w = t_w / static_cast<double>(grid_w) * static_cast<double>(ref_feat_shape->second);
  }
  auto grid = at::stack(at::meshgrid({t_h, t_w}, "ij"), -1).unsqueeze(-1);  // [H, W, 2, 1]
  auto pos = grid * bands;                                                  // [H, W, 2, nb]
  const int64_t n = grid_h * grid_w;
  auto sin = pos.sin().reshape({n, -1}).repeat_interleave(2, -1).contiguous();
  auto cos = pos.cos().reshape({n, -1}).repeat_interleave(2, -1).contiguous();
  return {sin, cos};
}

RopeTable with_prefix_rows(const RopeTable& table, int64_t num_prefix) {
  if (num_prefix == 0) return table;
  const int64_t dim = table.sin.size(1);
  auto options = table.sin.options();
  return {at::cat({at::zeros({num_prefix, dim}, options), table.sin}, 0),
          at::cat({at::ones({num_prefix, dim}, options), table.cos}, 0)};
}

at::Tensor rope_embed_cat(const RopeTable& table) { return at::cat({table.sin, table.cos}, -1); }

at::Tensor apply_rope_cat(const at::Tensor& x, const at::Tensor& sin, const at::Tensor& cos) {
  // rot(x): pairs (x0, x1) -> (-x1, x0).
  auto pairs = x.unflatten(-1, {-1, 2});
  auto rotated = at::stack({pairs.select(-1, 1).neg(), pairs.select(-1, 0)}, -1).flatten(-2);
  return (x * cos + rotated * sin).to(x.scalar_type());
}

}  // namespace foldtorch::layers
