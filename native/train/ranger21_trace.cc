#include "train/ranger21_trace.h"

#include <ATen/ATen.h>

#include <memory>
#include <utility>

namespace foldtorch::train {

Ranger21TraceResult RunRanger21Trace(Ranger21TraceInput input) {
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (size_t g = 0; g < input.group_indices.size(); ++g) {
    std::vector<at::Tensor> members;
    for (int64_t i : input.group_indices[g]) members.push_back(input.params[static_cast<size_t>(i)]);
    groups.emplace_back(members, std::make_unique<Ranger21Options>(input.group_options[g]));
  }
  Ranger21 optimizer(groups, input.defaults);
  Ranger21TraceResult result;
  std::vector<std::vector<at::Tensor>> params_per_step(input.params.size()), grads_per_step(input.params.size());
  for (int64_t t = 0; t < input.steps; ++t) {
    for (size_t i = 0; i < input.params.size(); ++i) input.params[i].mutable_grad() = input.grads[i][t].clone();
    optimizer.step();
    for (size_t i = 0; i < input.params.size(); ++i) {
      params_per_step[i].push_back(input.params[i].detach().clone());
      grads_per_step[i].push_back(input.params[i].grad().clone());
    }
    for (double lr : optimizer.last_lrs()) result.lrs.push_back(lr);
    result.variance_normalized.push_back(optimizer.last_variance_normalized());
  }
  for (size_t i = 0; i < input.params.size(); ++i) {
    result.params.push_back(at::stack(params_per_step[i]));
    result.grads.push_back(at::stack(grads_per_step[i]));
  }
  return result;
}

}  // namespace foldtorch::train
