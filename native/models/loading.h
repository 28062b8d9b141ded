// Loading timm checkpoints into a model (strict except the head and a resampled position embedding, with a
// report of what happened) and exporting a model's weights.
#pragma once

#include <string>
#include <vector>

#include "io/safetensors.h"
#include "models/model.h"

namespace foldtorch {

struct LoadReport {
  std::vector<std::string> loaded;      // copied from the checkpoint
  std::vector<std::string> missing;     // model keys the checkpoint lacks (only the head may be)
  std::vector<std::string> unexpected;  // checkpoint keys the model lacks (only a head may be)
  std::vector<std::string> resampled;   // adapted to this model's grid (pos_embed)
  std::vector<std::string> replaced;    // head keys whose shape differs: the model keeps its new head
};

// Reads a safetensors checkpoint, adapts it with the model's filter (renames, pos_embed resampling) and copies
// every tensor into the model. Nothing is copied unless the whole checkpoint fits: otherwise throws naming the
// first mismatching keys with both shapes ("checkpoint [...] vs model [...]"), missing and unexpected keys.
LoadReport load_checkpoint(ClassifierImpl& model, const std::string& path);
// The same from tensors already in memory (`label` names their origin in errors).
LoadReport load_tensors(ClassifierImpl& model, std::map<std::string, torch::Tensor> tensors, const std::string& label);

// Parameters and buffers under timm's names, in state_dict order.
io::NamedTensors state_dict(const ClassifierImpl& model);

}  // namespace foldtorch
