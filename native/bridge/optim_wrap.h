// JS access to the training core's pieces on their own: option parsing shared with the Learner, a standalone
// Ranger21 run over given tensors and the classification losses (both used by `foldtorch parity`).
#pragma once

#include <napi.h>

#include "bridge/options.h"
#include "train/complement_ce.h"
#include "train/ranger21.h"

namespace foldtorch::bridge {

// Keys as in src/native/types.ts Ranger21NativeOptions; lr, numEpochs and numBatchesPerEpoch are required.
train::Ranger21Options ParseRanger21Options(const OptionReader& options);
// Keys as in LossNativeOptions: kind ("cce" | "ce"), variant ("head" | "v2021"), balancingFactor, labelSmoothing.
train::LossOptions ParseLossOptions(const OptionReader& options);

Napi::Object InitOptimExports(Napi::Env env, Napi::Object exports);

}  // namespace foldtorch::bridge
