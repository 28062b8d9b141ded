// Training checkpoints: model weights, Ranger21 state, the loss scaler, step counters and RNG state, written
// so that a run killed at any moment resumes from the last good checkpoint, bit-identically on CPU.
//
// Layout for a prefix P: P.safetensors holds every tensor (model.*, optimizer.<i>.*, rng.*) and, in its
// metadata under "foldtorch.checkpoint", the JSON document with the counters and settings; it is written to a
// temporary file, fsynced and renamed over the old one, so it is always whole. P.json is a readable copy of
// the document written the same way afterwards; loading reads only P.safetensors, which is self-contained.
#pragma once

#include <string>

#include "train/learner.h"

namespace foldtorch::train {

inline constexpr const char* kCheckpointMetadataKey = "foldtorch.checkpoint";
inline constexpr const char* kCheckpointFormat = "foldtorch.checkpoint";
inline constexpr int kCheckpointVersion = 1;

struct CheckpointInfo {
  std::string path;      // the .safetensors file
  std::string document;  // the JSON document stored with it
  LearnerCounters counters;
};

// Refuses (and leaves any existing checkpoint untouched) in the middle of gradient accumulation and when a
// parameter holds NaN/inf. `user_json` (a JSON value, "null" for none) is stored as the document's "user".
CheckpointInfo SaveCheckpoint(const Learner& learner, const std::string& prefix, const std::string& user_json);

// All or nothing: the file, the model (family, classes, every tensor's name, shape and dtype), the optimizer's
// parameter list and state, the scaler and the RNG state are all checked before anything in `learner` changes.
CheckpointInfo LoadCheckpoint(Learner& learner, const std::string& prefix);

}  // namespace foldtorch::train
