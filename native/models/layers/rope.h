// 2-D rotary position embedding in timm's "cat" layout (RotaryEmbeddingCat, in_pixels=False), as EVA-02 uses it.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <optional>
#include <utility>

namespace foldtorch::layers {

struct RopeTable {
  at::Tensor sin;  // [N, head_dim], float32
  at::Tensor cos;  // [N, head_dim]
};

// The table for a grid_h x grid_w patch grid, row-major (h, w) order. Coordinates are arange(H)/H*ref_h (and the
// same for w) when ref_feat_shape is given, so a fine-tune grid maps onto the pretrain grid; bands are
// temperature^(-b/nb) with nb = head_dim/4, each sin/cos value repeated twice (interleaved pairs).
RopeTable build_rope_cat(int64_t grid_h, int64_t grid_w, int64_t head_dim,
                         std::optional<std::pair<int64_t, int64_t>> ref_feat_shape, double temperature = 10000.0,
                         double grid_offset = 0.0);

// The same table with `num_prefix` identity rows (sin 0, cos 1) in front, so prefix tokens such as the class
// token pass through unchanged (x*1 + rot(x)*0 = x exactly) without slicing q and k.
RopeTable with_prefix_rows(const RopeTable& table, int64_t num_prefix);

// cat(sin, cos) along the last dim: timm's rope.get_embed() ([N, 2*head_dim]).
at::Tensor rope_embed_cat(const RopeTable& table);

// x*cos + rot(x)*sin with the interleaved rot(x) = [-x1, x0, -x3, x2, ...]; x is [..., N, head_dim]. Computed in
// the table's float32 and cast back to x's dtype (timm's .type_as(v)).
at::Tensor apply_rope_cat(const at::Tensor& x, const at::Tensor& sin, const at::Tensor& cos);

}  // namespace foldtorch::layers
