#include "lavender/train/adamw.h"

#include <torch/optim/adamw.h>

namespace lavender::train {

bool takes_weight_decay(const std::string& name, const at::Tensor& p) {
  return p.dim() >= 2 && name.find("norm") == std::string::npos;
}

GroupedAdamW::GroupedAdamW(std::vector<AdamWGroup> groups, const AdamWSettings& s) {
  std::vector<torch::optim::OptimizerParamGroup> param_groups;
  for (auto& g : groups) {
    auto options = std::make_unique<torch::optim::AdamWOptions>(s.lr * g.lr_ratio);
    options->betas({s.beta1, s.beta2}).eps(s.eps).weight_decay(g.weight_decay);
    param_groups.emplace_back(std::move(g.params), std::move(options));
    ratios_.push_back(g.lr_ratio);
  }
  optimizer_ =
      std::make_unique<torch::optim::AdamW>(param_groups, torch::optim::AdamWOptions(s.lr));
}

GroupedAdamW::~GroupedAdamW() = default;

void GroupedAdamW::set_learning_rate(double lr) {
  auto& groups = optimizer_->param_groups();
  for (size_t g = 0; g < groups.size(); ++g)
    static_cast<torch::optim::AdamWOptions&>(groups[g].options()).lr(lr * ratios_[g]);
}

}  // namespace lavender::train
