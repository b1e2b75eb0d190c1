// LayerNorm over the last dimension whose bias is optional: MPT's `no_bias` removes the bias of
// every LayerNorm as well as every Linear, which torch::nn::LayerNorm cannot express (its
// elementwise_affine gives both or neither). Parameters `weight` and, when asked, `bias`.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace lavender::nn {

class LayerNormImpl : public torch::nn::Module {
 public:
  LayerNormImpl(int64_t dim, double eps, bool bias);
  at::Tensor forward(const at::Tensor& x);
  void pretty_print(std::ostream& stream) const override;

  at::Tensor weight;
  at::Tensor bias;  // undefined without bias

 private:
  int64_t dim_;
  double eps_;
};
TORCH_MODULE(LayerNorm);

}  // namespace lavender::nn
