// AdamW as every lavender training loop steps it (the trainer's ParameterUpdate, train-dm): groups
// that differ only in weight decay and in a fixed ratio to the scheduled learning rate, the rule
// for which parameters decay, and setting the step's learning rate on every group.
#pragma once

#include <ATen/core/Tensor.h>

#include <memory>
#include <string>
#include <vector>

namespace torch::optim {
class AdamW;
}

namespace lavender::train {

struct AdamWGroup {
  std::vector<at::Tensor> params;
  double weight_decay = 0;
  double lr_ratio = 1;  // of the scheduled learning rate (the Aligner's own rate)
};

struct AdamWSettings {
  double lr = 1e-4;
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
};

// Norms, biases and other 1-D parameters take no weight decay (as transformers' Trainer).
bool takes_weight_decay(const std::string& name, const at::Tensor& p);

class GroupedAdamW {
 public:
  GroupedAdamW(std::vector<AdamWGroup> groups, const AdamWSettings& settings);
  ~GroupedAdamW();
  // Every group's learning rate for the next step: `lr` times its ratio.
  void set_learning_rate(double lr);
  torch::optim::AdamW& optimizer() { return *optimizer_; }

 private:
  std::vector<double> ratios_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
};

}  // namespace lavender::train
