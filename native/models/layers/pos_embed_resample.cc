// resample_abs_pos_embed in float32 through at::_upsample_bicubic2d_aa (F.interpolate(..., antialias=True)).
#include "models/layers/pos_embed_resample.h"

#include <ATen/ATen.h>

#include <cmath>

namespace foldtorch::layers {

at::Tensor resample_abs_pos_embed(const at::Tensor& pos_embed, int64_t new_h, int64_t new_w,
                                  int64_t num_prefix_tokens) {
  TORCH_CHECK(pos_embed.dim() == 3 && pos_embed.size(0) == 1, "pos_embed resample: expected [1, tokens, dim] (got ",
              pos_embed.sizes(), ")");
  const int64_t old_tokens = pos_embed.size(1) - num_prefix_tokens;
  const auto side = static_cast<int64_t>(std::sqrt(static_cast<double>(old_tokens)));
  TORCH_CHECK(old_tokens > 0 && side * side == old_tokens,
              "pos_embed resample: expected a square grid of patch rows (got ", old_tokens, " rows after ",
              num_prefix_tokens, " prefix tokens)");
  if (side == new_h && side == new_w) return pos_embed;
  const int64_t dim = pos_embed.size(2);
  auto prefix = pos_embed.slice(1, 0, num_prefix_tokens);
  auto grid = pos_embed.slice(1, num_prefix_tokens).to(at::kFloat).reshape({1, side, side, dim}).permute({0, 3, 1, 2});
  auto resized = at::_upsample_bicubic2d_aa(grid, {new_h, new_w}, /*align_corners=*/false, std::nullopt, std::nullopt);
  resized = resized.permute({0, 2, 3, 1}).reshape({1, new_h * new_w, dim}).to(pos_embed.scalar_type());
  return num_prefix_tokens > 0 ? at::cat({prefix, resized}, 1) : resized;
}

}  // namespace foldtorch::layers
