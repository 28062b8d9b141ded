// What a JS Model holds natively; shared by model_wrap.cc and model_forward.cc only.
#pragma once

#include <string>

#include "bridge/model_wrap.h"
#include "models/loading.h"
#include "models/model.h"

namespace foldtorch::bridge {

struct ModelWrap::State {
  ModelHandle handle;  // module reset by dispose(); queued calls keep their own reference
  std::string name;
  LoadReport report;
  bool channels_last = false;
};

}  // namespace foldtorch::bridge
