// Gradient checkpointing for C++ modules (torch.utils.checkpoint is Python-only): the forward runs without
// keeping activations and the backward recomputes it, under the autocast state of the original forward.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

namespace foldtorch::layers {

using CheckpointFn = std::function<at::Tensor(const at::Tensor& input)>;

// fn(input) with activations recomputed in backward. `params` are the parameters fn uses: they are inputs of
// the checkpoint node, so their gradients flow even when `input` does not require grad. Without grad mode
// (inference) this is just fn(input).
at::Tensor checkpoint(const CheckpointFn& fn, const at::Tensor& input, const std::vector<at::Tensor>& params);

}  // namespace foldtorch::layers
