// The registry tables (from timm v1.0.28's entrypoints and pretrained cfgs) and create_model.
#include "models/registry.h"

#include <c10/util/Exception.h>

#include <algorithm>
#include <iomanip>
#include <map>
#include <sstream>

#include "models/convnext.h"
#include "models/eva02.h"

namespace foldtorch {

namespace {

enum MeanStd { kClip, kImageNet };

struct EvaArgs {
  const char* name;
  int64_t img_size, patch_size, embed_dim, depth, num_heads;
  bool qkv_fused, scale_mlp, scale_attn_inner;
  const char* global_pool;
};

// Every eva02 entrypoint except enormous (post-norm blocks); mlp_ratio 4*2/3, SwiGLU, RoPE ref grid 16×16.
constexpr EvaArgs kEvaArgs[] = {
    {"eva02_tiny_patch14_224", 224, 14, 192, 12, 3, true, false, false, "avg"},
    {"eva02_tiny_patch14_336", 336, 14, 192, 12, 3, true, false, false, "avg"},
    {"eva02_small_patch14_224", 224, 14, 384, 12, 6, true, false, false, "avg"},
    {"eva02_small_patch14_336", 336, 14, 384, 12, 6, true, false, false, "avg"},
    {"eva02_base_patch14_224", 224, 14, 768, 12, 12, false, true, false, "avg"},
    {"eva02_base_patch14_448", 448, 14, 768, 12, 12, false, true, false, "avg"},
    {"eva02_large_patch14_224", 224, 14, 1024, 24, 16, false, true, false, "avg"},
    {"eva02_large_patch14_448", 448, 14, 1024, 24, 16, false, true, false, "avg"},
    {"eva02_base_patch16_clip_224", 224, 16, 768, 12, 12, false, true, true, "token"},
    {"eva02_large_patch14_clip_224", 224, 14, 1024, 24, 16, false, true, true, "token"},
    {"eva02_large_patch14_clip_336", 336, 14, 1024, 24, 16, false, true, true, "token"},
};

struct ConvNextArgs {
  const char* name;
  int64_t depths[4], dims[4];
  bool conv_mlp;
};

constexpr ConvNextArgs kConvNextArgs[] = {
    {"convnext_atto", {2, 2, 6, 2}, {40, 80, 160, 320}, true},
    {"convnext_femto", {2, 2, 6, 2}, {48, 96, 192, 384}, true},
    {"convnext_pico", {2, 2, 6, 2}, {64, 128, 256, 512}, true},
    {"convnext_nano", {2, 2, 8, 2}, {80, 160, 320, 640}, true},
    {"convnext_tiny", {3, 3, 9, 3}, {96, 192, 384, 768}, false},
    {"convnext_small", {3, 3, 27, 3}, {96, 192, 384, 768}, false},
    {"convnext_base", {3, 3, 27, 3}, {128, 256, 512, 1024}, false},
    {"convnext_large", {3, 3, 27, 3}, {192, 384, 768, 1536}, false},
    {"convnext_xlarge", {3, 3, 27, 3}, {256, 512, 1024, 2048}, false},
};

struct TagRow {
  const char* model;
  const char* tag;
  int64_t num_classes, input_size;
  double crop_pct;
  const char* crop_mode;
  MeanStd mean_std;
};

// Pretrained tags in timm's order (the first of a model is its default); all bicubic.
constexpr TagRow kTags[] = {
    {"eva02_base_patch14_224", "mim_in22k", 0, 224, 0.9, "center", kClip},
    {"eva02_base_patch14_448", "mim_in22k_ft_in22k_in1k", 1000, 448, 1.0, "squash", kClip},
    {"eva02_base_patch14_448", "mim_in22k_ft_in1k", 1000, 448, 1.0, "center", kClip},
    {"eva02_base_patch14_448", "mim_in22k_ft_in22k", 21841, 448, 1.0, "squash", kClip},
    {"eva02_base_patch16_clip_224", "merged2b", 512, 224, 0.9, "center", kClip},
    {"eva02_large_patch14_224", "mim_in22k", 0, 224, 0.9, "center", kClip},
    {"eva02_large_patch14_224", "mim_m38m", 0, 224, 0.9, "center", kClip},
    {"eva02_large_patch14_448", "mim_in22k_ft_in22k_in1k", 1000, 448, 1.0, "squash", kClip},
    {"eva02_large_patch14_448", "mim_m38m_ft_in22k_in1k", 1000, 448, 1.0, "squash", kClip},
    {"eva02_large_patch14_448", "mim_in22k_ft_in1k", 1000, 448, 1.0, "center", kClip},
    {"eva02_large_patch14_448", "mim_m38m_ft_in1k", 1000, 448, 1.0, "center", kClip},
    {"eva02_large_patch14_448", "mim_in22k_ft_in22k", 21841, 448, 1.0, "squash", kClip},
    {"eva02_large_patch14_448", "mim_m38m_ft_in22k", 21841, 448, 1.0, "squash", kClip},
    {"eva02_large_patch14_clip_224", "merged2b", 768, 224, 0.9, "center", kClip},
    {"eva02_large_patch14_clip_336", "merged2b", 768, 336, 1.0, "center", kClip},
    {"eva02_small_patch14_224", "mim_in22k", 0, 224, 0.9, "center", kClip},
    {"eva02_small_patch14_336", "mim_in22k_ft_in1k", 1000, 336, 1.0, "center", kClip},
    {"eva02_tiny_patch14_224", "mim_in22k", 0, 224, 0.9, "center", kClip},
    {"eva02_tiny_patch14_336", "mim_in22k_ft_in1k", 1000, 336, 1.0, "center", kClip},
    {"convnext_atto", "d2_in1k", 1000, 224, 0.875, "center", kImageNet},
    {"convnext_femto", "d1_in1k", 1000, 224, 0.875, "center", kImageNet},
    {"convnext_pico", "d1_in1k", 1000, 224, 0.875, "center", kImageNet},
    {"convnext_nano", "in12k_ft_in1k", 1000, 224, 0.95, "center", kImageNet},
    {"convnext_nano", "d1h_in1k", 1000, 224, 0.95, "center", kImageNet},
    {"convnext_nano", "r384_in12k_ft_in1k", 1000, 384, 1.0, "center", kImageNet},
    {"convnext_nano", "in12k", 11821, 224, 0.95, "center", kImageNet},
    {"convnext_nano", "r384_in12k", 11821, 384, 1.0, "center", kImageNet},
    {"convnext_nano", "r384_ad_in12k", 11821, 384, 1.0, "center", kImageNet},
    {"convnext_tiny", "in12k_ft_in1k", 1000, 224, 0.95, "center", kImageNet},
    {"convnext_tiny", "in12k_ft_in1k_384", 1000, 384, 1.0, "center", kImageNet},
    {"convnext_tiny", "in12k", 11821, 224, 0.95, "center", kImageNet},
    {"convnext_tiny", "fb_in22k_ft_in1k", 1000, 224, 0.875, "center", kImageNet},
    {"convnext_tiny", "fb_in1k", 1000, 224, 0.875, "center", kImageNet},
    {"convnext_tiny", "fb_in22k_ft_in1k_384", 1000, 384, 1.0, "center", kImageNet},
    {"convnext_tiny", "fb_in22k", 21841, 224, 0.875, "center", kImageNet},
    {"convnext_tiny", "dinov3_lvd1689m", 0, 224, 1.0, "center", kImageNet},
    {"convnext_tiny", "eupe_lvd1689m", 0, 256, 1.0, "center", kImageNet},
    {"convnext_small", "in12k_ft_in1k", 1000, 224, 0.95, "center", kImageNet},
    {"convnext_small", "in12k_ft_in1k_384", 1000, 384, 1.0, "center", kImageNet},
    {"convnext_small", "in12k", 11821, 224, 0.95, "center", kImageNet},
    {"convnext_small", "fb_in22k_ft_in1k", 1000, 224, 0.875, "center", kImageNet},
    {"convnext_small", "fb_in1k", 1000, 224, 0.875, "center", kImageNet},
    {"convnext_small", "fb_in22k_ft_in1k_384", 1000, 384, 1.0, "center", kImageNet},
    {"convnext_small", "fb_in22k", 21841, 224, 0.875, "center", kImageNet},
    {"convnext_small", "dinov3_lvd1689m", 0, 224, 1.0, "center", kImageNet},
    {"convnext_small", "eupe_lvd1689m", 0, 256, 1.0, "center", kImageNet},
    {"convnext_base", "fb_in22k_ft_in1k", 1000, 224, 0.875, "center", kImageNet},
    {"convnext_base", "fb_in1k", 1000, 224, 0.875, "center", kImageNet},
    {"convnext_base", "fb_in22k_ft_in1k_384", 1000, 384, 1.0, "center", kImageNet},
    {"convnext_base", "fb_in22k", 21841, 224, 0.875, "center", kImageNet},
    {"convnext_base", "clip_laion2b_augreg_ft_in12k_in1k", 1000, 256, 1.0, "center", kClip},
    {"convnext_base", "clip_laion2b_augreg_ft_in12k_in1k_384", 1000, 384, 1.0, "center", kClip},
    {"convnext_base", "clip_laion2b_augreg_ft_in1k", 1000, 256, 1.0, "center", kClip},
    {"convnext_base", "clip_laiona_augreg_ft_in1k_384", 1000, 384, 1.0, "center", kClip},
    {"convnext_base", "clip_laion2b_augreg_ft_in12k", 11821, 256, 1.0, "center", kClip},
    {"convnext_base", "clip_laion2b", 640, 256, 1.0, "center", kClip},
    {"convnext_base", "clip_laion2b_augreg", 640, 256, 1.0, "center", kClip},
    {"convnext_base", "clip_laiona", 640, 256, 1.0, "center", kClip},
    {"convnext_base", "clip_laiona_320", 640, 320, 1.0, "center", kClip},
    {"convnext_base", "clip_laiona_augreg_320", 640, 320, 1.0, "center", kClip},
    {"convnext_base", "dinov3_lvd1689m", 0, 224, 1.0, "center", kImageNet},
    {"convnext_base", "eupe_lvd1689m", 0, 256, 1.0, "center", kImageNet},
    {"convnext_large", "fb_in22k_ft_in1k", 1000, 224, 0.875, "center", kImageNet},
    {"convnext_large", "fb_in1k", 1000, 224, 0.875, "center", kImageNet},
    {"convnext_large", "fb_in22k_ft_in1k_384", 1000, 384, 1.0, "center", kImageNet},
    {"convnext_large", "fb_in22k", 21841, 224, 0.875, "center", kImageNet},
    {"convnext_large", "dinov3_lvd1689m", 0, 224, 1.0, "center", kImageNet},
    {"convnext_xlarge", "fb_in22k_ft_in1k", 1000, 224, 0.875, "center", kImageNet},
    {"convnext_xlarge", "fb_in22k_ft_in1k_384", 1000, 384, 1.0, "center", kImageNet},
    {"convnext_xlarge", "fb_in22k", 21841, 224, 0.875, "center", kImageNet},
};

PretrainedConfig MakeTag(const TagRow& row) {
  PretrainedConfig cfg;
  if (row.mean_std == kClip) {
    cfg.mean = {0.48145466, 0.4578275, 0.40821073};
    cfg.std = {0.26862954, 0.26130258, 0.27577711};
  } else {
    cfg.mean = {0.485, 0.456, 0.406};
    cfg.std = {0.229, 0.224, 0.225};
  }
  cfg.interpolation = "bicubic";
  cfg.img_size = row.input_size;
  cfg.crop_pct = row.crop_pct;
  cfg.crop_mode = row.crop_mode;
  cfg.num_classes = row.num_classes;
  cfg.tag = std::string(row.model) + "." + row.tag;
  return cfg;
}

std::string Precise(double value) {
  std::ostringstream out;
  out << std::setprecision(17) << value;
  return out.str();
}

std::string Bool(bool value) { return value ? "true" : "false"; }

std::string List(const int64_t* values) {
  std::string out = "[";
  for (int i = 0; i < 4; ++i) out += (i ? "," : "") + std::to_string(values[i]);
  return out + "]";
}

// The keys timm's entrypoints pass, so they compare one to one with timm's registry.
std::string EvaArgsJson(const EvaArgs& a) {
  std::string out = "{\"img_size\":" + std::to_string(a.img_size) + ",\"patch_size\":" + std::to_string(a.patch_size) +
                    ",\"embed_dim\":" + std::to_string(a.embed_dim) + ",\"depth\":" + std::to_string(a.depth) +
                    ",\"num_heads\":" + std::to_string(a.num_heads) + ",\"qkv_fused\":" + Bool(a.qkv_fused) +
                    ",\"mlp_ratio\":" + Precise(Eva02Config().mlp_ratio) + ",\"swiglu_mlp\":true,\"scale_mlp\":" +
                    Bool(a.scale_mlp) + ",\"scale_attn_inner\":" + Bool(a.scale_attn_inner) +
                    ",\"use_rot_pos_emb\":true,\"ref_feat_shape\":[16,16],\"global_pool\":\"" + a.global_pool + "\"}";
  return out;
}

std::string ConvNextArgsJson(const ConvNextArgs& a) {
  return "{\"depths\":" + List(a.depths) + ",\"dims\":" + List(a.dims) + ",\"conv_mlp\":" + Bool(a.conv_mlp) + "}";
}

std::vector<ModelEntry> BuildRegistry() {
  std::vector<ModelEntry> entries;
  for (const auto& args : kEvaArgs) entries.push_back({args.name, "eva02", {}, EvaArgsJson(args)});
  for (const auto& args : kConvNextArgs) entries.push_back({args.name, "convnext", {}, ConvNextArgsJson(args)});
  for (const auto& row : kTags) {
    for (auto& entry : entries) {
      if (entry.name == row.model) entry.tags.push_back(MakeTag(row));
    }
  }
  return entries;
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

template <typename Args>
const Args* FindArgs(const Args* begin, const Args* end, const std::string& name) {
  for (const Args* a = begin; a != end; ++a) {
    if (name == a->name) return a;
  }
  return nullptr;
}

Classifier CreateEva(const EvaArgs& a, const PretrainedConfig& tag, const CreateOptions& options) {
  Eva02Config c;
  c.img_size = options.img_size.value_or(a.img_size);
  c.patch_size = options.arch.patch_size.value_or(a.patch_size);
  c.embed_dim = options.arch.embed_dim.value_or(a.embed_dim);
  c.depth = options.arch.depth.value_or(a.depth);
  c.num_heads = options.arch.num_heads.value_or(a.num_heads);
  c.mlp_ratio = options.arch.mlp_ratio.value_or(c.mlp_ratio);
  c.qkv_fused = options.arch.qkv_fused.value_or(a.qkv_fused);
  c.scale_mlp = options.arch.scale_mlp.value_or(a.scale_mlp);
  c.scale_attn_inner = options.arch.scale_attn_inner.value_or(a.scale_attn_inner);
  if (options.arch.ref_feat_shape) {
    const auto& ref = *options.arch.ref_feat_shape;
    TORCH_CHECK_VALUE(ref.size() == 2, "eva02: ref_feat_shape needs 2 entries (got ", ref.size(), ")");
    c.ref_feat_shape = std::make_pair(ref[0], ref[1]);
  }
  c.global_pool = a.global_pool;
  c.num_classes = options.num_classes.value_or(tag.num_classes);
  TORCH_CHECK_VALUE(c.img_size % c.patch_size == 0, "eva02: img_size must be a multiple of the patch size ", c.patch_size,
                    " (got ", c.img_size, ")");
  TORCH_CHECK_VALUE(c.embed_dim % c.num_heads == 0 && (c.embed_dim / c.num_heads) % 4 == 0,
                    "eva02: embed_dim / num_heads must be a multiple of 4 (got ", c.embed_dim, " / ", c.num_heads, ")");
  PretrainedConfig cfg = tag;
  cfg.img_size = c.img_size;
  return std::make_shared<Eva02Impl>(c, cfg);
}

Classifier CreateConvNext(const ConvNextArgs& a, const PretrainedConfig& tag, const CreateOptions& options) {
  ConvNextConfig c;
  c.depths = options.arch.depths.value_or(std::vector<int64_t>(a.depths, a.depths + 4));
  c.dims = options.arch.dims.value_or(std::vector<int64_t>(a.dims, a.dims + 4));
  c.conv_mlp = options.arch.conv_mlp.value_or(a.conv_mlp);
  c.num_classes = options.num_classes.value_or(tag.num_classes);
  c.img_size = options.img_size.value_or(tag.img_size);
  TORCH_CHECK_VALUE(c.depths.size() == 4 && c.dims.size() == 4, "convnext: depths and dims need 4 entries");
  TORCH_CHECK_VALUE(c.img_size >= 32, "convnext: img_size must be at least 32 (got ", c.img_size, ")");
  PretrainedConfig cfg = tag;
  cfg.img_size = c.img_size;
  return std::make_shared<ConvNextImpl>(c, cfg);
}

}  // namespace

const std::vector<ModelEntry>& model_registry() {
  static const std::vector<ModelEntry> registry = BuildRegistry();
  return registry;
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

std::vector<std::string> closest_model_names(const std::string& name, size_t count) {
  std::vector<std::pair<size_t, std::string>> scored;
  for (const auto& candidate : model_names()) scored.emplace_back(EditDistance(name, candidate), candidate);
  for (const auto& candidate : pretrained_tag_names()) scored.emplace_back(EditDistance(name, candidate), candidate);
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (size_t i = 0; i < scored.size() && out.size() < count; ++i) out.push_back(scored[i].second);
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
  std::string closest;
  for (const auto& candidate : closest_model_names(name)) closest += (closest.empty() ? "" : ", ") + candidate;
  TORCH_CHECK_VALUE(false, "models: unknown model name '", name, "' (closest registered names: ", closest, ")");
}

Classifier create_model(const std::string& name, const CreateOptions& options) {
  const PretrainedConfig* tag = nullptr;
  const ModelEntry& entry = find_model(name, &tag);
  TORCH_CHECK_VALUE(!options.num_classes || *options.num_classes >= 0, "models: num_classes must be >= 0 (got ",
                    *options.num_classes, ")");
  if (entry.family == "eva02") {
    return CreateEva(*FindArgs(std::begin(kEvaArgs), std::end(kEvaArgs), entry.name), *tag, options);
  }
  return CreateConvNext(*FindArgs(std::begin(kConvNextArgs), std::end(kConvNextArgs), entry.name), *tag, options);
}

}  // namespace foldtorch
