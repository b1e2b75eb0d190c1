// OpenFlamingo's gated cross-attention block, inserted before a language-model decoder block:
// text tokens attend to the resampled image latents (MaskedCrossAttention), then a FeedForward,
// each added to the residual stream through a tanh gate (`attn_gate`, `ff_gate`, zero at
// initialisation so the untrained model is the plain LM). Module names as the checkpoint's
// `gated_cross_attn_layer.*`: `attn.{norm, to_q, to_kv, to_out}`, `attn_gate`, `ff.{0, 1, 3}`,
// `ff_gate`.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/normalization.h>

#include "lavender/nn/linear.h"

namespace lavender::vlm {

struct GatedCrossAttentionConfig {
  int64_t dim = 2048;         // the language model's width
  int64_t dim_visual = 1024;  // the resampled latents' width
  int64_t heads = 8;
  int64_t dim_head = 64;
  int64_t ff_mult = 4;
  // Each text token sees only the latents of the last image before it (the release's setting);
  // otherwise those of every image before it.
  bool only_attend_immediate_media = true;
};

// Which image each text token follows: for [B, T] ids, the number of media tokens at or before
// each position (0: none yet). Keys of image k (1-based) are visible to a token whose count is k
// (or ≥ k when attending to every previous image).
at::Tensor media_time(const at::Tensor& input_ids, int64_t media_token_id);

class MaskedCrossAttentionImpl : public torch::nn::Module {
 public:
  explicit MaskedCrossAttentionImpl(const GatedCrossAttentionConfig& c);
  // x [B, T, dim], media [B, T_img, latents, dim_visual], text_time [B, T] long (media_time()).
  // `probs`: when non-null, receives the softmax probabilities [B, heads, T, T_img·latents],
  // rows of tokens before any image zeroed as the output is.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& media, const at::Tensor& text_time,
                     at::Tensor* probs = nullptr);

  torch::nn::LayerNorm norm{nullptr};
  nn::Linear to_q{nullptr}, to_kv{nullptr}, to_out{nullptr};

 private:
  GatedCrossAttentionConfig config_;
};
TORCH_MODULE(MaskedCrossAttention);

class GatedCrossAttentionBlockImpl : public torch::nn::Module {
 public:
  explicit GatedCrossAttentionBlockImpl(const GatedCrossAttentionConfig& c);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& media, const at::Tensor& text_time,
                     at::Tensor* probs = nullptr);

  MaskedCrossAttention attn{nullptr};
  at::Tensor attn_gate;  // [1]
  torch::nn::Sequential ff{nullptr};
  at::Tensor ff_gate;  // [1]
};
TORCH_MODULE(GatedCrossAttentionBlock);

}  // namespace lavender::vlm
