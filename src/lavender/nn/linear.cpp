
#include <torch/torch.h>

#include <cmath>

#include "lavender/nn/init_guard.h"
#include "lavender/nn/linear.h"
#include "lavender/util/error.h"

namespace lavender::nn {

LinearImpl::LinearImpl(const torch::nn::LinearOptions& opts) : options(opts) {
  weight =
      register_parameter("weight", torch::empty({options.out_features(), options.in_features()}));
  if (options.bias()) bias = register_parameter("bias", torch::empty({options.out_features()}));
  if (init_skipped()) return;  // every value is about to be loaded
  // torch::nn::Linear's reset_parameters, draw for draw, so seeded random models stay identical
  // after the type swap.
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(options.in_features()));
    torch::nn::init::uniform_(bias, -bound, bound);
  }
}

at::Tensor LinearImpl::forward(const at::Tensor& x) {
  at::Tensor y = torch::nn::functional::linear(x, weight, bias);
  if (!has_lora()) return y;
  // PEFT casts the input to the adapter's dtype and the sum back to the base result's dtype.
  at::Tensor h = x.to(lora_A->weight.scalar_type());
  if (!lora_dropout.is_empty()) h = lora_dropout(h);
  return (y + lora_B(lora_A(h)) * scale_).to(y.scalar_type());
}

void LinearImpl::pretty_print(std::ostream& stream) const {
  stream << "lavender::nn::Linear(in_features=" << options.in_features()
         << ", out_features=" << options.out_features() << ", bias=" << options.bias();
  if (has_lora()) stream << ", lora_rank=" << rank_ << ", lora_scale=" << scale_;
  stream << ")";
}

void LinearImpl::add_lora(int64_t rank, double alpha, double dropout, bool use_rslora) {
  if (has_lora()) throw Error("nn::Linear: add_lora on a layer that already has an adapter");
  if (rank < 1) throw Error("nn::Linear: LoRA rank must be >= 1, got " + std::to_string(rank));
  if (dropout < 0 || dropout >= 1)
    throw Error("nn::Linear: LoRA dropout must be in [0, 1), got " + std::to_string(dropout));
  rank_ = rank;
  scale_ = use_rslora ? alpha / std::sqrt(static_cast<double>(rank)) : alpha / rank;
  lora_A = torch::nn::Linear(torch::nn::LinearOptions(options.in_features(), rank).bias(false));
  lora_B = torch::nn::Linear(torch::nn::LinearOptions(rank, options.out_features()).bias(false));
  {
    // PEFT's default init (init_lora_weights=True): A as nn.Linear's kaiming-uniform(a=√5),
    // B zero, so the adapted layer starts equal to the base layer.
    torch::NoGradGuard no_grad;
    torch::nn::init::kaiming_uniform_(lora_A->weight, std::sqrt(5.0));
    lora_B->weight.zero_();
  }
  lora_A->to(weight.device(), weight.scalar_type());
  lora_B->to(weight.device(), weight.scalar_type());
  register_module("lora_A", lora_A);
  register_module("lora_B", lora_B);
  if (dropout > 0) lora_dropout = register_module("lora_dropout", torch::nn::Dropout(dropout));
  // A training-mode flag set on the parent before the adapter existed carries over.
  if (!is_training()) eval();
}

at::Tensor LinearImpl::lora_delta() const {
  if (!has_lora()) throw Error("nn::Linear: lora_delta on a layer without an adapter");
  torch::NoGradGuard no_grad;
  return torch::matmul(lora_B->weight.to(torch::kFloat), lora_A->weight.to(torch::kFloat)) * scale_;
}

void LinearImpl::merge_lora() {
  if (!has_lora()) throw Error("nn::Linear: merge_lora on a layer without an adapter");
  {
    torch::NoGradGuard no_grad;
    const at::Tensor merged = weight.to(torch::kFloat) + lora_delta().to(weight.device());
    weight.copy_(merged.to(weight.scalar_type()));
  }
  unregister_module("lora_A");
  unregister_module("lora_B");
  if (!lora_dropout.is_empty()) unregister_module("lora_dropout");
  lora_A = nullptr;
  lora_B = nullptr;
  lora_dropout = nullptr;
  rank_ = 0;
  scale_ = 0;
}

}  // namespace lavender::nn
