// Absolute position embedding resampling as timm's resample_abs_pos_embed: prefix rows kept, the patch rows
// resized as a square grid with antialiased bicubic (the PIL-style a = -0.5 filter, not plain bicubic).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace foldtorch::layers {

// pos_embed [1, num_prefix + old_h*old_w, D] → [1, num_prefix + new_h*new_w, D]; the old grid is taken as
// square (sqrt of the patch rows), as timm does when the old size is unknown. Throws when it is not square.
at::Tensor resample_abs_pos_embed(const at::Tensor& pos_embed, int64_t new_h, int64_t new_w, int64_t num_prefix_tokens);

}  // namespace foldtorch::layers
