#include "lavender/nn/rms_norm.h"

#include <torch/torch.h>

namespace lavender::nn {

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  // The statistics are taken in fp32 whatever the compute dtype; the weight multiplies the
  // result after the cast back, in that order, as the reference does.
  at::Tensor h = x.to(at::kFloat);
  at::Tensor variance = h.pow(2).mean(-1, /*keepdim=*/true);
  h = h * at::rsqrt(variance + eps);
  return weight * h.to(x.scalar_type());
}

RmsNormImpl::RmsNormImpl(int64_t hidden, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({hidden}));
}

at::Tensor RmsNormImpl::forward(const at::Tensor& x) {
  return rms_norm(x, weight, eps_);
}

}  // namespace lavender::nn
