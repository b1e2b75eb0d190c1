// RMSNorm as Llama uses it (transformers LlamaRMSNorm): normalise in fp32 by the root mean
// square over the last dimension, cast back, then scale by a learned `weight` (no bias, no
// centring).
#pragma once

#include <torch/nn/module.h>

namespace lavender::nn {

class RmsNormImpl : public torch::nn::Module {
 public:
  RmsNormImpl(int64_t hidden, double eps);
  at::Tensor forward(const at::Tensor& x);
  double eps() const { return eps_; }

  at::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RmsNorm);

// The function itself, for callers that hold the weight elsewhere (q/k norms).
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

}  // namespace lavender::nn
