#include "lavender/dm/timestep_embedding.h"

#include <torch/torch.h>

#include <cmath>

#include "lavender/nn/activations.h"

namespace lavender::dm {

at::Tensor sinusoidal_timestep_embedding(const at::Tensor& timesteps, int64_t dim,
                                         bool flip_sin_to_cos, double freq_shift) {
  const int64_t half = dim / 2;
  auto f32 = torch::TensorOptions().dtype(torch::kFloat).device(timesteps.device());
  // Same operation order as diffusers, in fp32, so the embedding matches to the last bit.
  at::Tensor exponent = torch::arange(0, half, f32) * (-std::log(10000.0));
  exponent = exponent / (static_cast<double>(half) - freq_shift);
  at::Tensor angles = timesteps.to(torch::kFloat).unsqueeze(1) * exponent.exp().unsqueeze(0);
  at::Tensor emb = flip_sin_to_cos ? torch::cat({angles.cos(), angles.sin()}, -1)
                                   : torch::cat({angles.sin(), angles.cos()}, -1);
  if (dim % 2 == 1) emb = torch::constant_pad_nd(emb, {0, 1});
  return emb;
}

TimestepEmbeddingImpl::TimestepEmbeddingImpl(int64_t in_dim, int64_t out_dim, std::string act,
                                             std::optional<std::string> post_act)
    : act_(std::move(act)), post_act_(std::move(post_act)) {
  nn::check_activation(act_);
  if (post_act_) nn::check_activation(*post_act_);
  linear_1 = register_module("linear_1", torch::nn::Linear(in_dim, out_dim));
  linear_2 = register_module("linear_2", torch::nn::Linear(out_dim, out_dim));
}

at::Tensor TimestepEmbeddingImpl::forward(const at::Tensor& x) {
  at::Tensor h = linear_2(nn::activate(act_, linear_1(x)));
  return post_act_ ? nn::activate(*post_act_, h) : h;
}

}  // namespace lavender::dm
