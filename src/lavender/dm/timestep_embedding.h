// The UNet's time conditioning (diffusers Timesteps + TimestepEmbedding): a sinusoidal embedding of
// the integer timestep followed by linear → activation → linear, registered as `time_embedding.*`.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include <optional>
#include <string>

namespace lavender::dm {

// diffusers get_timestep_embedding: [N] timesteps → [N, dim] fp32, frequencies
// exp(-ln(10000)·i / (dim/2 − freq_shift)), [sin | cos] (or [cos | sin] with flip_sin_to_cos),
// zero-padded by one column when dim is odd.
at::Tensor sinusoidal_timestep_embedding(const at::Tensor& timesteps, int64_t dim,
                                         bool flip_sin_to_cos, double freq_shift);

class TimestepEmbeddingImpl : public torch::nn::Module {
 public:
  // `act`: between the two linears; `post_act`: after the second (diffusers' timestep_post_act).
  TimestepEmbeddingImpl(int64_t in_dim, int64_t out_dim, std::string act,
                        std::optional<std::string> post_act);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Linear linear_1{nullptr}, linear_2{nullptr};

 private:
  std::string act_;
  std::optional<std::string> post_act_;
};
TORCH_MODULE(TimestepEmbedding);

}  // namespace lavender::dm
