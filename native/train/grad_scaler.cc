// The dynamic gradient scaler.
#include "train/grad_scaler.h"

#include <ATen/ATen.h>

#include <cfloat>
#include <cmath>

namespace foldtorch::train {

GradScaler::GradScaler(GradScalerOptions options, const c10::Device& device) : options_(options), device_(device) {
  TORCH_CHECK_VALUE(options_.init_scale > 0 && std::isfinite(options_.init_scale),
                    "grad scaler: expected a positive finite init_scale (got ", options_.init_scale, ")");
  TORCH_CHECK_VALUE(options_.growth_factor > 1, "grad scaler: expected growth_factor > 1 (got ", options_.growth_factor,
                    ")");
  TORCH_CHECK_VALUE(options_.backoff_factor > 0 && options_.backoff_factor < 1,
                    "grad scaler: expected backoff_factor in (0, 1) (got ", options_.backoff_factor, ")");
  TORCH_CHECK_VALUE(options_.growth_interval > 0, "grad scaler: expected growth_interval > 0 (got ",
                    options_.growth_interval, ")");
  state_.scale = options_.init_scale;
}

at::Tensor GradScaler::scale(const at::Tensor& loss) { return loss * state_.scale; }

bool GradScaler::unscale_and_check(const std::vector<at::Tensor>& params) {
  std::vector<at::Tensor> grads;
  for (const auto& p : params) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  auto found_inf = at::zeros({1}, at::TensorOptions().dtype(at::kFloat).device(device_));
  // 1 / scale is exact: the scale is a power of two times the initial scale.
  const auto inv_scale = at::full({1}, 1.0 / state_.scale, at::TensorOptions().dtype(at::kFloat).device(device_));
  if (!grads.empty()) at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf, inv_scale);
  return found_inf.item<float>() != 0.0f;
}

void GradScaler::update(bool found_inf) {
  // The same rule, in float32, as libtorch's _amp_update_scale_.
  if (found_inf) {
    state_.scale = static_cast<float>(state_.scale * options_.backoff_factor);
    state_.growth_tracker = 0;
    ++state_.skipped_steps;
    ++state_.backoff_events;
    return;
  }
  if (++state_.growth_tracker == options_.growth_interval) {
    const double grown = static_cast<double>(static_cast<float>(state_.scale * options_.growth_factor));
    if (std::isfinite(grown) && grown <= FLT_MAX) {
      state_.scale = grown;
      ++state_.growth_events;
    }
    state_.growth_tracker = 0;
  }
}

double GradScaler::scale_value() const { return state_.scale; }

GradScalerState GradScaler::state() const { return state_; }

void GradScaler::load_state(const GradScalerState& state) {
  TORCH_CHECK_VALUE(state.scale > 0 && std::isfinite(state.scale), "grad scaler: bad saved scale ", state.scale);
  TORCH_CHECK_VALUE(state.growth_tracker >= 0 && state.growth_tracker < options_.growth_interval,
                    "grad scaler: bad saved growth tracker ", state.growth_tracker);
  state_ = state;
}

}  // namespace foldtorch::train
