// OpenFlamingo's Perceiver resampler: a fixed set of learned latents attends to each image's
// vision tokens (keys and values over the media tokens followed by the latents themselves), with
// a feed-forward after each attention, both residual, and a final LayerNorm. Every image becomes
// `num_latents` tokens for the language model's cross-attention. Module names as the release's
// checkpoint: `latents`, `layers.{i}.0.{norm_media, norm_latents, to_q, to_kv, to_out}`,
// `layers.{i}.1.{0, 1, 3}` (LayerNorm, up, down of the FeedForward), `norm`. Neither the frame
// nor the media-time embeddings are used by the release (it builds the resampler without them).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/normalization.h>

#include <vector>

#include "lavender/nn/linear.h"

namespace lavender::vlm {

struct PerceiverConfig {
  int64_t dim = 1024;  // the vision features' width
  int64_t depth = 6;
  int64_t heads = 8;
  int64_t dim_head = 64;
  int64_t num_latents = 64;
  int64_t ff_mult = 4;
};

// LayerNorm, Linear up (no bias), exact GELU, Linear down (no bias): the FeedForward of both the
// resampler and the gated cross-attention, whose indices 0, 1, 3 are the checkpoint's keys.
torch::nn::Sequential flamingo_feed_forward(int64_t dim, int64_t mult);

class PerceiverAttentionImpl : public torch::nn::Module {
 public:
  PerceiverAttentionImpl(int64_t dim, int64_t heads, int64_t dim_head);
  // media [N, P, D], latents [N, L, D] → [N, L, D]. `probs`: when non-null, receives the softmax
  // probabilities [N, heads, L, P + L].
  at::Tensor forward(const at::Tensor& media, const at::Tensor& latents, at::Tensor* probs);

  torch::nn::LayerNorm norm_media{nullptr}, norm_latents{nullptr};
  nn::Linear to_q{nullptr}, to_kv{nullptr}, to_out{nullptr};

 private:
  int64_t heads_, dim_head_;
};
TORCH_MODULE(PerceiverAttention);

class PerceiverResamplerImpl : public torch::nn::Module {
 public:
  explicit PerceiverResamplerImpl(const PerceiverConfig& c);
  // x [B, T_img, P, D] (one frame per image) → [B, T_img, num_latents, D]. `probs`: when
  // non-null, gets one [B·T_img, heads, latents, P + latents] tensor per layer.
  at::Tensor forward(const at::Tensor& x, std::vector<at::Tensor>* probs = nullptr);
  const PerceiverConfig& config() const { return config_; }

  at::Tensor latents;
  torch::nn::ModuleList layers{nullptr};
  torch::nn::LayerNorm norm{nullptr};

 private:
  PerceiverConfig config_;
};
TORCH_MODULE(PerceiverResampler);

}  // namespace lavender::vlm
