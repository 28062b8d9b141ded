// A custom autograd Function that keeps only a block's input and recomputes the block during backward.
#include "models/layers/grad_checkpoint.h"

#include <ATen/core/ivalue.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/custom_class.h>

#include "compat.h"

namespace foldtorch::layers {

namespace {

struct CheckpointState : torch::CustomClassHolder {
  CheckpointFn fn;
  std::vector<at::Tensor> params;
  c10::DeviceType device_type = c10::DeviceType::CPU;
  bool autocast = false;
  c10::ScalarType autocast_dtype = c10::ScalarType::Float;
};

class CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
 public:
  // Arguments as the autograd node sees them: input, each param, then the (non-tensor) state.
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& input, at::TensorList params,
                            const c10::intrusive_ptr<CheckpointState>& state) {
    (void)params;
    ctx->save_for_backward({input});
    ctx->saved_data["state"] = c10::IValue::make_capsule(state);
    return state->fn(input);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_outputs) {
    auto capsule = ctx->saved_data["state"].toCapsule();
    auto* state = static_cast<CheckpointState*>(capsule.get());
    torch::autograd::variable_list result(2 + state->params.size());
    if (!grad_outputs[0].defined()) return result;
    const at::Tensor input = ctx->get_saved_variables()[0].detach().requires_grad_(true);
    at::Tensor output;
    {
      // Recompute as the forward ran: with grad, and under the same autocast state (backward usually runs
      // outside the autocast region).
      at::AutoGradMode grad_mode(true);
      compat::AutocastGuard autocast(state->device_type, state->autocast_dtype, state->autocast);
      output = state->fn(input);
    }
    std::vector<at::Tensor> wrt{input};
    std::vector<size_t> slots;
    for (size_t i = 0; i < state->params.size(); ++i) {
      if (state->params[i].requires_grad()) {
        wrt.push_back(state->params[i]);
        slots.push_back(i);
      }
    }
    auto grads = torch::autograd::grad({output}, wrt, {grad_outputs[0]}, /*retain_graph=*/false,
                                       /*create_graph=*/false, /*allow_unused=*/true);
    result[0] = grads[0];
    for (size_t j = 0; j < slots.size(); ++j) result[1 + slots[j]] = grads[1 + j];
    return result;  // the last slot (state) gets no gradient
  }
};

}  // namespace

at::Tensor checkpoint(const CheckpointFn& fn, const at::Tensor& input, const std::vector<at::Tensor>& params) {
  if (!at::GradMode::is_enabled()) return fn(input);
  auto state = c10::make_intrusive<CheckpointState>();
  state->fn = fn;
  state->params = params;
  state->device_type = input.device().type();
  state->autocast = at::autocast::is_autocast_enabled(state->device_type);
  state->autocast_dtype = at::autocast::get_autocast_dtype(state->device_type);
  return CheckpointFunction::apply(input, at::TensorList(params), state);
}

}  // namespace foldtorch::layers
