// The gated (SwiGLU) feed-forward of Llama-style decoders: down(act(gate(x)) · up(x)), keys
// `gate_proj`, `up_proj`, `down_proj`.
#pragma once

#include <torch/nn/module.h>

#include <string>

#include "lavender/nn/linear.h"

namespace lavender::nn {

class LlamaMlpImpl : public torch::nn::Module {
 public:
  LlamaMlpImpl(int64_t hidden, int64_t intermediate, std::string act = "silu", bool bias = false);
  at::Tensor forward(const at::Tensor& x);

  Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};

 private:
  std::string act_;
};
TORCH_MODULE(LlamaMlp);

}  // namespace lavender::nn
