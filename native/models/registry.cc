// The registry: the list of families (one line each), name lookup with suggestions, override checks and
// create_model.
#include "models/registry.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "models/convnext.h"
#include "models/efficientnet.h"
#include "models/eva02.h"

namespace foldtorch {

namespace {

// The one registration per family.
std::vector<ModelFamily> BuildFamilies() { return {eva02_family(), convnext_family(), efficientnet_family()}; }

bool IsInteger(double value) { return std::isfinite(value) && std::floor(value) == value; }

const char* KindText(const ArchKey& key) {
  switch (key.kind) {
    case ArchKind::kInteger:
      return "an integer";
    case ArchKind::kNumber:
      return "a number";
    case ArchKind::kBool:
      return "a boolean";
    case ArchKind::kIntegers:
      return "a list of integers";
  }
  return "";
}

// Every override is a key the family declares, of the declared kind.
void CheckOverrides(const ModelFamily& family, const ArchOverrides& arch) {
  for (const auto& [name, value] : arch.values()) {
    auto key = std::find_if(family.arch_keys.begin(), family.arch_keys.end(),
                            [&](const ArchKey& k) { return k.name == name; });
    if (key == family.arch_keys.end()) {
      std::string known;
      for (const auto& k : family.arch_keys) known += (known.empty() ? "" : ", ") + k.name;
      TORCH_CHECK_VALUE(false, "models: ", family.name, " takes no override '", name, "' (it takes ", known, ")");
    }
    bool fits = false;
    if (key->kind == ArchKind::kBool) {
      fits = std::holds_alternative<bool>(value);
    } else if (key->kind == ArchKind::kIntegers) {
      const auto* list = std::get_if<std::vector<double>>(&value);
      fits = list && (key->length == 0 || list->size() == key->length) &&
             std::all_of(list->begin(), list->end(), IsInteger);
    } else {
      const auto* number = std::get_if<double>(&value);
      fits = number && std::isfinite(*number) && (key->kind == ArchKind::kNumber || IsInteger(*number));
    }
    TORCH_CHECK_VALUE(fits, "models: override '", name, "' of ", family.name, " must be ", KindText(*key),
                      key->length ? " of length " + std::to_string(key->length) : std::string());
  }
}

}  // namespace

std::optional<int64_t> ArchOverrides::integer(const std::string& key) const {
  auto found = values_.find(key);
  if (found == values_.end()) return std::nullopt;
  return static_cast<int64_t>(std::get<double>(found->second));
}

std::optional<double> ArchOverrides::number(const std::string& key) const {
  auto found = values_.find(key);
  if (found == values_.end()) return std::nullopt;
  return std::get<double>(found->second);
}

std::optional<bool> ArchOverrides::flag(const std::string& key) const {
  auto found = values_.find(key);
  if (found == values_.end()) return std::nullopt;
  return std::get<bool>(found->second);
}

std::optional<std::vector<int64_t>> ArchOverrides::integers(const std::string& key) const {
  auto found = values_.find(key);
  if (found == values_.end()) return std::nullopt;
  const auto& list = std::get<std::vector<double>>(found->second);
  return std::vector<int64_t>(list.begin(), list.end());
}

PretrainedConfig make_tag(const std::string& model, const std::string& tag, int64_t num_classes, int64_t input_size,
                          double crop_pct, const std::string& crop_mode, const std::vector<double>& mean,
                          const std::vector<double>& std, const std::string& interpolation) {
  PretrainedConfig cfg;
  cfg.mean = mean;
  cfg.std = std;
  cfg.interpolation = interpolation;
  cfg.img_size = input_size;
  cfg.crop_pct = crop_pct;
  cfg.crop_mode = crop_mode;
  cfg.num_classes = num_classes;
  cfg.tag = model + "." + tag;
  return cfg;
}

std::string json_number(double value) {
  std::ostringstream out;
  out << std::setprecision(17) << value;
  return out.str();
}

ImageSize requested_size(const CreateOptions& options, const PretrainedConfig& tag) {
  return options.img_size.value_or(ImageSize{tag.img_size, tag.img_size});
}

const std::vector<ModelFamily>& model_families() {
  static const std::vector<ModelFamily> families = BuildFamilies();
  return families;
}

const std::vector<ModelEntry>& model_registry() {
  static const std::vector<ModelEntry> registry = [] {
    std::vector<ModelEntry> out;
    for (const auto& family : model_families()) out.insert(out.end(), family.entries.begin(), family.entries.end());
    return out;
  }();
  return registry;
}

const ModelFamily& find_family(const std::string& name) {
  for (const auto& family : model_families()) {
    if (family.name == name) return family;
  }
  TORCH_CHECK_VALUE(false, "models: no model family named '", name, "'");
}

std::vector<std::string> model_names() {
  std::vector<std::string> out;
  for (const auto& e : model_registry()) out.push_back(e.name);
  return out;
}

std::vector<std::string> pretrained_tag_names() {
  std::vector<std::string> out;
  for (const auto& e : model_registry()) {
    for (const auto& tag : e.tags) out.push_back(tag.tag);
  }
  return out;
}

const ModelEntry& find_model(const std::string& name, const PretrainedConfig** tag) {
  const auto dot = name.find('.');
  const std::string arch = name.substr(0, dot);
  for (const auto& entry : model_registry()) {
    if (entry.name != arch) continue;
    for (const auto& t : entry.tags) {
      if (dot == std::string::npos ? &t == &entry.tags.front() : t.tag == name) {
        if (tag) *tag = &t;
        return entry;
      }
    }
  }
  // TypeScript suggests the closest names before a call gets here; this guards direct native use.
  TORCH_CHECK_VALUE(false, "models: unknown model name '", name, "' (model_names() lists the registered ones)");
}

namespace {

// The entry, its tag and family for a name, with the options checked as create_model checks them.
const ModelFamily& CheckedFamily(const std::string& name, const CreateOptions& options, const ModelEntry** entry,
                                 const PretrainedConfig** tag) {
  *entry = &find_model(name, tag);
  TORCH_CHECK_VALUE(!options.num_classes || *options.num_classes >= 0, "models: num_classes must be >= 0 (got ",
                    *options.num_classes, ")");
  if (options.img_size) {
    TORCH_CHECK_VALUE(options.img_size->height > 0 && options.img_size->width > 0,
                      "models: img_size must be positive (got [", options.img_size->height, ", ",
                      options.img_size->width, "])");
  }
  const ModelFamily& family = find_family((*entry)->family);
  CheckOverrides(family, options.arch);
  return family;
}

}  // namespace

Classifier create_model(const std::string& name, const CreateOptions& options) {
  const ModelEntry* entry = nullptr;
  const PretrainedConfig* tag = nullptr;
  const ModelFamily& family = CheckedFamily(name, options, &entry, &tag);
  return family.create(*entry, *tag, options);
}

MemoryEstimate estimate_model_memory(const std::string& name, const CreateOptions& options, int64_t batch,
                                     bool grad_checkpointing) {
  TORCH_CHECK_VALUE(batch > 0, "models: batch must be positive (got ", batch, ")");
  const ModelEntry* entry = nullptr;
  const PretrainedConfig* tag = nullptr;
  const ModelFamily& family = CheckedFamily(name, options, &entry, &tag);
  return family.estimate(*entry, *tag, options, batch, grad_checkpointing);
}

}  // namespace foldtorch
