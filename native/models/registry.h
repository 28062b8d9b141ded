// Named model configs mirroring timm's registry (eva02_* tiny…large, convnext_atto…xlarge) with their
// pretrained tags' preprocessing defaults, and the one factory that builds a model from a name.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "models/model.h"

namespace foldtorch {

// timm-style keyword overrides of a named architecture (what create_model(name, embed_dim=64, ...) does);
// used by the parity fixtures' scaled-down models.
struct ArchOverrides {
  // eva02
  std::optional<int64_t> patch_size, embed_dim, depth, num_heads;
  std::optional<double> mlp_ratio;
  std::optional<bool> qkv_fused, scale_mlp, scale_attn_inner;
  std::optional<std::vector<int64_t>> ref_feat_shape;
  // convnext
  std::optional<std::vector<int64_t>> depths, dims;
  std::optional<bool> conv_mlp;
};

struct CreateOptions {
  std::optional<int64_t> num_classes;  // default: the pretrained tag's class count
  std::optional<int64_t> img_size;     // default: the config's input size
  ArchOverrides arch;
};

struct ModelEntry {
  std::string name;
  std::string family;  // "eva02" | "convnext"
  std::vector<PretrainedConfig> tags;  // the first is the default, as in timm
  std::string args_json;  // timm's model_args of the entrypoint, e.g. {"img_size":224,"patch_size":14,...}
};

const std::vector<ModelEntry>& model_registry();
// Architecture names, and every "name.tag".
std::vector<std::string> model_names();
std::vector<std::string> pretrained_tag_names();
// The closest registered names (architectures and tags) by edit distance, best first.
std::vector<std::string> closest_model_names(const std::string& name, size_t count = 3);
// "eva02_base_patch14_448" or "eva02_base_patch14_448.mim_in22k_ft_in22k_in1k"; throws c10::ValueError listing
// the closest names for an unknown one.
const ModelEntry& find_model(const std::string& name, const PretrainedConfig** tag = nullptr);

Classifier create_model(const std::string& name, const CreateOptions& options = {});

}  // namespace foldtorch
