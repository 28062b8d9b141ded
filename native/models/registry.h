// The model registry: each family (EVA-02, ConvNeXt, EfficientNet) registers its named configs, their pretrained
// tags, the keyword overrides it takes and its factory; create_model builds any registered name. Adding a family
// is its own files plus one line in registry.cc.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "models/model.h"

namespace foldtorch {

// The kinds of value a timm keyword override takes.
enum class ArchKind { kInteger, kNumber, kBool, kIntegers };

struct ArchKey {
  std::string name;  // timm's keyword, e.g. "embed_dim"
  ArchKind kind;
  size_t length = 0;  // kIntegers: the exact length (0: any)
};

using ArchValue = std::variant<double, bool, std::vector<double>>;

// timm-style keyword overrides of a named architecture (what create_model(name, embed_dim=64, ...) does), by
// timm's keyword names. create_model checks them against the family's declared keys before the family reads them.
class ArchOverrides {
 public:
  void set(const std::string& key, ArchValue value) { values_[key] = std::move(value); }
  const std::map<std::string, ArchValue>& values() const { return values_; }
  std::optional<int64_t> integer(const std::string& key) const;
  std::optional<double> number(const std::string& key) const;
  std::optional<bool> flag(const std::string& key) const;
  std::optional<std::vector<int64_t>> integers(const std::string& key) const;

 private:
  std::map<std::string, ArchValue> values_;
};

struct CreateOptions {
  std::optional<int64_t> num_classes;  // default: the pretrained tag's class count
  std::optional<ImageSize> img_size;   // default: the tag's input size
  ArchOverrides arch;
};

struct ModelEntry {
  std::string name;
  std::string family;
  std::vector<PretrainedConfig> tags;  // the first is the default, as in timm
  std::string args_json;               // timm's model_args of the entrypoint, e.g. {"img_size":224,"patch_size":14,...}
};

using ModelFactory = std::function<Classifier(const ModelEntry&, const PretrainedConfig&, const CreateOptions&)>;
// The family's estimate for what the factory would build, for a training step of `batch` images.
using MemoryEstimator = std::function<MemoryEstimate(const ModelEntry&, const PretrainedConfig&, const CreateOptions&,
                                                     int64_t batch, bool grad_checkpointing)>;

// What a family registers.
struct ModelFamily {
  std::string name;  // "eva02"
  std::vector<ModelEntry> entries;
  std::vector<ArchKey> arch_keys;
  ModelFactory create;
  MemoryEstimator estimate;
};

// Every registered family, in registration order.
const std::vector<ModelFamily>& model_families();
const std::vector<ModelEntry>& model_registry();
const ModelFamily& find_family(const std::string& family);
// Architecture names, and every "name.tag".
std::vector<std::string> model_names();
std::vector<std::string> pretrained_tag_names();
// "eva02_base_patch14_448" or "eva02_base_patch14_448.mim_in22k_ft_in22k_in1k"; throws c10::ValueError for an
// unknown one (TypeScript's createModel names the closest registered names before calling).
const ModelEntry& find_model(const std::string& name, const PretrainedConfig** tag = nullptr);

Classifier create_model(const std::string& name, const CreateOptions& options = {});
// What create_model(name, options) would hold and a training step of `batch` images keep, without building it;
// the same checks of the name and options first.
MemoryEstimate estimate_model_memory(const std::string& name, const CreateOptions& options, int64_t batch,
                                     bool grad_checkpointing);

// Helpers for families' tables.
inline const std::vector<double> kImageNetMean{0.485, 0.456, 0.406}, kImageNetStd{0.229, 0.224, 0.225};
inline const std::vector<double> kClipMean{0.48145466, 0.4578275, 0.40821073},
    kClipStd{0.26862954, 0.26130258, 0.27577711};
inline const std::vector<double> kInceptionMean{0.5, 0.5, 0.5}, kInceptionStd{0.5, 0.5, 0.5};
// One pretrained tag's preprocessing ("model.tag").
PretrainedConfig make_tag(const std::string& model, const std::string& tag, int64_t num_classes, int64_t input_size,
                          double crop_pct, const std::string& crop_mode, const std::vector<double>& mean,
                          const std::vector<double>& std, const std::string& interpolation = "bicubic");
// A JSON number that reads back as the same double.
std::string json_number(double value);
// The size to build: the caller's, else the tag's square input size.
ImageSize requested_size(const CreateOptions& options, const PretrainedConfig& tag);

}  // namespace foldtorch
