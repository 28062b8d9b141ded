// Strict checkpoint loading with head replacement and a report; exports for saving.
#include "models/loading.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <set>
#include <sstream>

namespace foldtorch {

namespace {

std::string ShapeText(const at::IntArrayRef& shape) {
  std::ostringstream out;
  out << shape;
  return out.str();
}

bool IsHeadKey(const std::vector<std::string>& head_names, const std::string& key) {
  if (std::find(head_names.begin(), head_names.end(), key) != head_names.end()) return true;
  // A checkpoint head the model does not have (num_classes 0) still has the head's names.
  for (const auto& name : head_names) {
    const auto dot = name.rfind('.');
    if (dot != std::string::npos && key.rfind(name.substr(0, dot + 1), 0) == 0) return true;
  }
  return false;
}

// Up to `limit` problems, then a count of the rest.
std::string Summarise(const std::vector<std::string>& problems, size_t limit = 6) {
  std::string out;
  for (size_t i = 0; i < problems.size() && i < limit; ++i) out += "\n  " + problems[i];
  if (problems.size() > limit) out += "\n  ... and " + std::to_string(problems.size() - limit) + " more";
  return out;
}

}  // namespace

io::NamedTensors state_dict(const ClassifierImpl& model) {
  // PyTorch's order: each module's own parameters, then its own buffers, then its children.
  io::NamedTensors out;
  for (const auto& item : model.named_modules()) {
    const std::string prefix = item.key().empty() ? "" : item.key() + ".";
    for (const auto& p : item.value()->named_parameters(/*recurse=*/false))
      out.emplace_back(prefix + p.key(), p.value());
    for (const auto& b : item.value()->named_buffers(/*recurse=*/false)) out.emplace_back(prefix + b.key(), b.value());
  }
  return out;
}

LoadReport load_checkpoint(ClassifierImpl& model, const std::string& path) {
  auto file = io::SafetensorsFile::open(path);
  std::map<std::string, torch::Tensor> tensors;
  for (const auto& name : file->names()) tensors[name] = file->tensor(name);
  return load_tensors(model, std::move(tensors), path);
}

LoadReport load_tensors(ClassifierImpl& model, std::map<std::string, torch::Tensor> tensors, const std::string& label) {
  LoadReport report;
  model.filter_checkpoint(tensors, report.resampled);
  const auto head_names = model.head_parameter_names();
  std::vector<std::string> problems;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> copies;  // (destination, source)
  std::set<std::string> used;
  for (const auto& [key, destination] : state_dict(model)) {
    auto found = tensors.find(key);
    if (found == tensors.end()) {
      report.missing.push_back(key);
      if (!IsHeadKey(head_names, key))
        problems.push_back("'" + key + "': missing from the checkpoint (model " + ShapeText(destination.sizes()) + ")");
      continue;
    }
    used.insert(key);
    if (found->second.sizes() != destination.sizes()) {
      if (IsHeadKey(head_names, key)) {
        report.replaced.push_back(key);
      } else {
        problems.push_back("'" + key + "': checkpoint " + ShapeText(found->second.sizes()) + " vs model " +
                           ShapeText(destination.sizes()));
      }
      continue;
    }
    TORCH_CHECK(found->second.is_floating_point() || !destination.is_floating_point(), "models: '", key, "' in ", label,
                " is not a floating-point tensor (got ", found->second.scalar_type(), ")");
    copies.emplace_back(destination, found->second);
    report.loaded.push_back(key);
  }
  for (const auto& [key, value] : tensors) {
    if (used.count(key)) continue;
    report.unexpected.push_back(key);
    if (!IsHeadKey(head_names, key))
      problems.push_back("'" + key + "': not in the model (checkpoint " + ShapeText(value.sizes()) + ")");
  }
  if (!problems.empty()) {
    TORCH_CHECK_VALUE(false, "models: checkpoint ", label, " does not fit this ", model.family(), " model (",
                      problems.size(), " mismatching keys; another architecture or size?):", Summarise(problems));
  }
  // Checked before any copy, so a refused checkpoint leaves the model as it was; otherwise NaN weights surface
  // only as "loss is NaN at step 1", naming no file.
  for (size_t i = 0; i < copies.size(); ++i) {
    const auto& source = copies[i].second;
    if (!source.is_floating_point()) continue;
    const int64_t bad = source.numel() - at::isfinite(source).sum().item<int64_t>();
    TORCH_CHECK_VALUE(bad == 0, "models: checkpoint ", label, " holds NaN or Inf weights in '", report.loaded[i],
                      "' (got ", bad, " of ", source.numel(), " values not finite)");
  }
  at::NoGradGuard no_grad;
  for (auto& [destination, source] : copies) destination.copy_(source);
  return report;
}

}  // namespace foldtorch
