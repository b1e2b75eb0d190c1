#include "lavender/nn/layer_norm.h"

#include <torch/torch.h>

namespace lavender::nn {

LayerNormImpl::LayerNormImpl(int64_t dim, double eps, bool bias) : dim_(dim), eps_(eps) {
  weight = register_parameter("weight", torch::ones({dim}));
  if (bias) this->bias = register_parameter("bias", torch::zeros({dim}));
}

at::Tensor LayerNormImpl::forward(const at::Tensor& x) {
  return at::layer_norm(x, {dim_}, weight, bias, eps_);
}

void LayerNormImpl::pretty_print(std::ostream& stream) const {
  stream << "lavender::nn::LayerNorm(" << dim_ << ", eps=" << eps_
         << ", bias=" << (bias.defined() ? "true" : "false") << ")";
}

}  // namespace lavender::nn
