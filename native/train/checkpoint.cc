// Saving and loading Learner checkpoints (safetensors + JSON document); see checkpoint.h for the layout.
#include "train/checkpoint.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/grad_mode.h>

#include <iomanip>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "compat.h"
#include "io/json.h"
#include "io/safetensors.h"

namespace foldtorch::train {

namespace {

std::string JsonNumber(double value) {
  std::ostringstream out;
  out << std::setprecision(17) << value;
  return out.str();
}

std::string Names(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? "," : "") + io::JsonQuote(names[i]);
  return out + "]";
}

std::string ModeName(Ranger21Mode mode) { return mode == Ranger21Mode::kLegacy ? "legacy" : "corrected"; }

// The model's state: parameters then buffers, by name.
std::vector<std::pair<std::string, at::Tensor>> ModelTensors(const Learner& learner) {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& item : learner.model()->named_parameters(/*recurse=*/true))
    out.emplace_back(item.key(), item.value());
  for (const auto& item : learner.model()->named_buffers(/*recurse=*/true)) out.emplace_back(item.key(), item.value());
  return out;
}

at::Tensor CpuRngState() {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void SetCpuRngState(const at::Tensor& state) {
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

// A side for a square input (as written before non-square inputs existed), else [height, width].
std::string SizeJson(const ImageSize& size) {
  if (size.height == size.width) return std::to_string(size.height);
  return "[" + std::to_string(size.height) + "," + std::to_string(size.width) + "]";
}

std::string Document(const Learner& learner, const Ranger21State& optimizer, bool cuda_rng,
                     const std::string& user_json) {
  const auto& model = *learner.model();
  const auto& o = learner.optimizer().options();
  const auto counters = learner.counters();
  std::ostringstream doc;
  doc << "{\"format\":" << io::JsonQuote(kCheckpointFormat) << ",\"version\":" << kCheckpointVersion
      << ",\"model\":{\"family\":" << io::JsonQuote(model.family()) << ",\"numClasses\":" << model.num_classes()
      << ",\"imgSize\":" << SizeJson(model.img_size()) << "}"
      << ",\"counters\":{\"step\":" << counters.step << ",\"microStep\":" << counters.micro_step
      << ",\"skippedSteps\":" << counters.skipped_steps << ",\"samples\":" << counters.samples << "}"
      << ",\"optimizer\":{\"name\":\"ranger21\",\"mode\":" << io::JsonQuote(ModeName(o.mode()))
      << ",\"iteration\":" << optimizer.iteration << ",\"lookaheadStep\":" << optimizer.lookahead_step
      << ",\"lr\":" << JsonNumber(o.lr()) << ",\"numEpochs\":" << o.num_epochs()
      << ",\"numBatchesPerEpoch\":" << o.num_batches_per_epoch()
      << ",\"params\":" << Names(learner.optimizer_param_names()) << "}";
  if (const auto* scaler = learner.scaler()) {
    const auto s = scaler->state();
    doc << ",\"scaler\":{\"scale\":" << JsonNumber(s.scale) << ",\"growthTracker\":" << s.growth_tracker
        << ",\"skippedSteps\":" << s.skipped_steps << ",\"growthEvents\":" << s.growth_events
        << ",\"backoffEvents\":" << s.backoff_events << "}";
  } else {
    doc << ",\"scaler\":null";
  }
  doc << ",\"precision\":" << io::JsonQuote(PrecisionName(learner.options().precision))
      << ",\"device\":" << io::JsonQuote(learner.device().str())
      << ",\"rng\":{\"cpu\":true,\"cuda\":" << (cuda_rng ? "true" : "false") << "},\"user\":" << user_json << "}";
  return doc.str();
}

void CheckFinite(const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  for (const auto& [name, tensor] : tensors) {
    if (!tensor.is_floating_point()) continue;
    TORCH_CHECK(at::isfinite(tensor).all().item<bool>(), "checkpoint: refusing to save: '", name,
                "' holds NaN or inf values (any existing checkpoint is left as it was)");
  }
}

}  // namespace

CheckpointInfo SaveCheckpoint(const Learner& learner, const std::string& prefix, const std::string& user_json) {
  const auto counters = learner.counters();
  TORCH_CHECK(counters.micro_step == 0, "checkpoint: cannot save in the middle of gradient accumulation (",
              counters.micro_step, " of ", learner.options().accumulation_steps, " micro-batches done)");
  io::ParseJson(user_json.data(), user_json.size());  // throws on anything that is not one JSON value
  const auto model_tensors = ModelTensors(learner);
  CheckFinite(model_tensors);
  io::NamedTensors tensors;
  for (const auto& [name, tensor] : model_tensors) tensors.emplace_back("model." + name, tensor);
  const auto optimizer = learner.optimizer().export_state();
  for (const auto& [key, tensor] : optimizer.tensors) tensors.emplace_back("optimizer." + key, tensor);
  tensors.emplace_back("rng.cpu", CpuRngState());
  const auto cuda_rng = compat::cuda_rng_state(learner.device());
  if (cuda_rng.defined()) tensors.emplace_back("rng.cuda", cuda_rng);
  CheckpointInfo info{prefix + ".safetensors", Document(learner, optimizer, cuda_rng.defined(), user_json), counters};
  // The readable copy first, the checkpoint itself last: a kill or a failure between the two leaves the old
  // checkpoint, which a resume loads and then saves again, so the pair never stays out of step.
  const std::string json_path = prefix + ".json";
  io::write_file_atomically(json_path,
                            [&](int fd) { io::write_all(fd, info.document.data(), info.document.size(), json_path); });
  io::save_safetensors(info.path, tensors, {{kCheckpointMetadataKey, info.document}});
  return info;
}

namespace {

const io::JsonValue& Field(const io::JsonValue& object, const char* key, const std::string& path) {
  const auto* value = object.is_object() ? object.find(key) : nullptr;
  TORCH_CHECK(value != nullptr, "checkpoint: ", path, " has no '", key, "' in its document");
  return *value;
}

int64_t Integer(const io::JsonValue& object, const char* key, const std::string& path) {
  const auto& value = Field(object, key, path);
  TORCH_CHECK(value.is_number() && value.as_double() == static_cast<double>(static_cast<int64_t>(value.as_double())),
              "checkpoint: ", path, " has a non-integer '", key, "'");
  return static_cast<int64_t>(value.as_double());
}

void CheckModel(const Learner& learner, const io::JsonValue& doc, const io::SafetensorsFile& file) {
  const auto& path = file.path();
  const auto& model = Field(doc, "model", path);
  const auto& family = Field(model, "family", path).as_string();
  const int64_t classes = Integer(model, "numClasses", path);
  TORCH_CHECK(family == learner.model()->family() && classes == learner.model()->num_classes(), "checkpoint: ", path,
              " holds a ", family, " model with ", classes, " classes, but this learner trains a ",
              learner.model()->family(), " model with ", learner.model()->num_classes(), " classes");
  std::set<std::string> expected;
  for (const auto& [name, tensor] : ModelTensors(learner)) {
    const std::string key = "model." + name;
    expected.insert(key);
    TORCH_CHECK(file.contains(key), "checkpoint: ", path, " does not match the model: it has no '", name, "'");
    const auto& entry = file.entry(key);
    TORCH_CHECK(entry.shape == tensor.sizes().vec() && entry.scalar_type == tensor.scalar_type(), "checkpoint: ", path,
                " does not match the model: '", name, "' is ", entry.dtype, " ", c10::IntArrayRef(entry.shape),
                ", the model's is ", tensor.scalar_type(), " ", tensor.sizes());
  }
  for (const auto& name : file.names()) {
    TORCH_CHECK(name.rfind("model.", 0) != 0 || expected.count(name), "checkpoint: ", path,
                " does not match the model: it has an unexpected '", name.substr(6), "'");
  }
}

Ranger21State ReadOptimizer(const Learner& learner, const io::JsonValue& doc, const io::SafetensorsFile& file) {
  const auto& path = file.path();
  const auto& optimizer = Field(doc, "optimizer", path);
  const auto& names = Field(optimizer, "params", path).items();
  const auto& ours = learner.optimizer_param_names();
  for (size_t i = 0; i < std::max(names.size(), ours.size()); ++i) {
    const std::string theirs = i < names.size() ? names[i].as_string() : "(none)";
    const std::string mine = i < ours.size() ? ours[i] : "(none)";
    TORCH_CHECK(theirs == mine, "checkpoint: ", path, " holds optimizer state for other parameters (position ", i,
                ": '", theirs, "' in the checkpoint, '", mine, "' here)");
  }
  Ranger21State state;
  state.iteration = Integer(optimizer, "iteration", path);
  state.lookahead_step = Integer(optimizer, "lookaheadStep", path);
  for (const auto& name : file.names()) {
    if (name.rfind("optimizer.", 0) == 0) state.tensors[name.substr(10)] = file.tensor(name);
  }
  return state;
}

std::optional<GradScalerState> ReadScaler(const Learner& learner, const io::JsonValue& doc, const std::string& path) {
  const auto& scaler = Field(doc, "scaler", path);
  if (scaler.is_null() || learner.scaler() == nullptr) return std::nullopt;  // a fresh scaler, or none needed now
  GradScalerState state;
  state.scale = Field(scaler, "scale", path).as_double();
  state.growth_tracker = Integer(scaler, "growthTracker", path);
  state.skipped_steps = Integer(scaler, "skippedSteps", path);
  state.growth_events = Integer(scaler, "growthEvents", path);
  state.backoff_events = Integer(scaler, "backoffEvents", path);
  GradScaler probe(learner.options().scaler, learner.device());
  probe.load_state(state);  // validates
  return state;
}

at::Tensor ReadRng(const io::SafetensorsFile& file, const char* key, const at::Tensor& current) {
  if (!current.defined()) return at::Tensor();
  TORCH_CHECK(file.contains(key), "checkpoint: ", file.path(), " has no '", key, "' RNG state");
  auto state = file.tensor(key);
  TORCH_CHECK(state.scalar_type() == at::kByte && state.numel() == current.numel(), "checkpoint: ", file.path(),
              " has a '", key, "' RNG state of ", state.numel(), " bytes; this libtorch's is ", current.numel());
  return state;
}

// The CPU state tried on a scratch generator: set_state refuses a damaged one only after the weights were copied.
void CheckCpuRng(const at::Tensor& state, const std::string& path) {
  if (!state.defined()) return;
  auto scratch = at::make_generator<at::CPUGeneratorImpl>();
  try {
    scratch.set_state(state);
  } catch (const c10::Error& error) {
    TORCH_CHECK(false, "checkpoint: ", path,
                " has a damaged 'rng.cpu' RNG state (got: ", error.what_without_backtrace(), ")");
  }
}

}  // namespace

CheckpointInfo LoadCheckpoint(Learner& learner, const std::string& prefix) {
  const std::string path = prefix + ".safetensors";
  const auto file = io::SafetensorsFile::open(path);
  const auto found = file->metadata().find(kCheckpointMetadataKey);
  TORCH_CHECK(found != file->metadata().end(), "checkpoint: ", path, " is not a foldtorch training checkpoint (no '",
              kCheckpointMetadataKey, "' metadata)");
  io::JsonValue doc;
  try {
    doc = io::ParseJson(found->second.data(), found->second.size());
  } catch (const std::runtime_error& error) {
    TORCH_CHECK(false, "checkpoint: ", path, " has unreadable '", kCheckpointMetadataKey, "' metadata (", error.what(),
                ")");
  }
  TORCH_CHECK(Field(doc, "format", path).as_string() == kCheckpointFormat &&
                  Integer(doc, "version", path) == kCheckpointVersion,
              "checkpoint: ", path, " is not a version ", kCheckpointVersion, " foldtorch training checkpoint");
  CheckModel(learner, doc, *file);
  auto optimizer = ReadOptimizer(learner, doc, *file);
  const auto scaler = ReadScaler(learner, doc, path);
  const auto& counters_json = Field(doc, "counters", path);
  LearnerCounters counters{Integer(counters_json, "step", path), Integer(counters_json, "microStep", path),
                           Integer(counters_json, "skippedSteps", path), Integer(counters_json, "samples", path)};
  TORCH_CHECK(counters.micro_step == 0 && counters.step >= 0, "checkpoint: ", path, " has bad counters");
  const auto cpu_rng = ReadRng(*file, "rng.cpu", CpuRngState());
  CheckCpuRng(cpu_rng, path);
  const auto cuda_rng = ReadRng(*file, "rng.cuda", compat::cuda_rng_state(learner.device()));
  std::vector<std::pair<at::Tensor, at::Tensor>> copies;
  for (const auto& [name, tensor] : ModelTensors(learner)) copies.emplace_back(tensor, file->tensor("model." + name));

  // Everything is read and checked; from here on nothing can fail halfway except the optimizer import, which
  // validates its own input before replacing any state, so it goes first.
  try {
    learner.optimizer().import_state(optimizer);
  } catch (const c10::Error& error) {
    TORCH_CHECK(false, "checkpoint: ", path,
                " holds optimizer state that does not load (got: ", error.what_without_backtrace(), ")");
  }
  {
    at::NoGradGuard no_grad;
    for (auto& [target, source] : copies) target.copy_(source);
  }
  if (scaler) learner.scaler()->load_state(*scaler);
  SetCpuRngState(cpu_rng);
  if (cuda_rng.defined()) compat::set_cuda_rng_state(learner.device(), cuda_rng);
  learner.optimizer().zero_grad(/*set_to_none=*/true);
  learner.set_counters(counters);
  return {path, found->second, counters};
}

}  // namespace foldtorch::train
