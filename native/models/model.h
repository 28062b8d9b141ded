// The interface every classifier family implements (EVA-02, ConvNeXt), as timm's models expose it.
#pragma once

#include <torch/nn/module.h>

#include <memory>
#include <string>
#include <vector>

namespace foldtorch {

// Preprocessing defaults of a named config (timm's pretrained_cfg).
struct PretrainedConfig {
  std::vector<double> mean;
  std::vector<double> std;
  std::string interpolation;  // "bicubic" | "bilinear"
  int64_t img_size = 224;
  double crop_pct = 1.0;
};

class ClassifierImpl : public torch::nn::Module {
 public:
  // [B, 3, H, W] → family-specific features (tokens or a feature map).
  virtual torch::Tensor forward_features(const torch::Tensor& images) = 0;
  // features → logits, or the pooled, normed embedding when pre_logits.
  virtual torch::Tensor forward_head(const torch::Tensor& features, bool pre_logits = false) = 0;
  torch::Tensor forward(const torch::Tensor& images) { return forward_head(forward_features(images)); }

  virtual void reset_classifier(int64_t num_classes) = 0;
  virtual void set_grad_checkpointing(bool enable) = 0;
  virtual int64_t num_classes() const = 0;
  // Expected input side in pixels (the model is built for img_size x img_size).
  virtual int64_t img_size() const = 0;
  virtual const PretrainedConfig& pretrained_config() const = 0;
  virtual std::string family() const = 0;
};

using Classifier = std::shared_ptr<ClassifierImpl>;

}  // namespace foldtorch
