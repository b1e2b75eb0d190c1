#include "lavender/nn/llama_mlp.h"

#include <torch/torch.h>

#include "lavender/nn/activations.h"

namespace lavender::nn {

LlamaMlpImpl::LlamaMlpImpl(int64_t hidden, int64_t intermediate, std::string act, bool bias)
    : act_(std::move(act)) {
  check_activation(act_);
  auto linear = [bias](int64_t in, int64_t out) {
    return Linear(torch::nn::LinearOptions(in, out).bias(bias));
  };
  gate_proj = register_module("gate_proj", linear(hidden, intermediate));
  up_proj = register_module("up_proj", linear(hidden, intermediate));
  down_proj = register_module("down_proj", linear(intermediate, hidden));
}

at::Tensor LlamaMlpImpl::forward(const at::Tensor& x) {
  return down_proj(activate(act_, gate_proj(x)) * up_proj(x));
}

}  // namespace lavender::nn
