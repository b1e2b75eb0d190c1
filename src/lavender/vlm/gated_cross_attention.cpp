#include "lavender/vlm/gated_cross_attention.h"

#include <torch/torch.h>

#include <cmath>

#include "lavender/nn/attention.h"
#include "lavender/util/error.h"
#include "lavender/vlm/perceiver_resampler.h"

namespace lavender::vlm {
namespace {

nn::Linear xattn_linear(int64_t in, int64_t out) {
  return nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
}

}  // namespace

at::Tensor media_time(const at::Tensor& input_ids, int64_t media_token_id) {
  return (input_ids == media_token_id).to(torch::kLong).cumsum(-1);
}

MaskedCrossAttentionImpl::MaskedCrossAttentionImpl(const GatedCrossAttentionConfig& c)
    : config_(c) {
  const int64_t inner = c.heads * c.dim_head;
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.dim})));
  to_q = register_module("to_q", xattn_linear(c.dim, inner));
  to_kv = register_module("to_kv", xattn_linear(c.dim_visual, 2 * inner));
  to_out = register_module("to_out", xattn_linear(inner, c.dim));
}

at::Tensor MaskedCrossAttentionImpl::forward(const at::Tensor& x, const at::Tensor& media,
                                             const at::Tensor& text_time, at::Tensor* probs) {
  if (media.dim() != 4 || media.size(0) != x.size(0))
    throw Error("cross-attention: media must be [batch, images, latents, dim]");
  if (text_time.dim() != 2 || text_time.size(0) != x.size(0) || text_time.size(1) != x.size(1))
    throw Error("cross-attention: text_time must be [batch, tokens]");
  const int64_t b = x.size(0), t = x.size(1), images = media.size(1), n = media.size(2);
  const int64_t h = config_.heads, d = config_.dim_head;
  auto split = [&](const at::Tensor& y) { return y.reshape({b, y.size(1), h, d}).transpose(1, 2); };
  at::Tensor q = split(to_q(norm(x)));
  auto kv = to_kv(media.reshape({b, images * n, media.size(3)})).chunk(2, -1);

  // Key column c belongs to image c / n + 1. Hidden keys take the most negative finite value
  // (not -inf, as the release does), so a row that sees no image stays finite before it is
  // zeroed below.
  at::Tensor key_time = torch::arange(images, text_time.options()).repeat_interleave(n) + 1;
  at::Tensor tt = text_time.unsqueeze(-1);  // [B, T, 1]
  at::Tensor allowed =
      config_.only_attend_immediate_media ? tt == key_time.view({1, 1, -1}) : tt >= key_time;
  at::Tensor mask =
      torch::zeros({b, 1, t, images * n}, q.options())
          .masked_fill(allowed.logical_not().unsqueeze(1), nn::lowest_finite(q.scalar_type()));
  nn::AttentionCapture capture;
  at::Tensor out =
      nn::attention(q, split(kv[0]), split(kv[1]), mask, /*causal=*/false,
                    1.0 / std::sqrt(static_cast<double>(d)), probs ? &capture : nullptr);
  if (config_.only_attend_immediate_media) {
    // Tokens before the first image attend to nothing: their probabilities (hence output) are 0.
    at::Tensor has_media = (text_time != 0).to(q.scalar_type()).view({b, 1, t, 1});
    out = out * has_media;
    if (probs) capture.probs = capture.probs * has_media;
  }
  if (probs) *probs = capture.probs;
  return to_out(out.transpose(1, 2).reshape({b, t, h * d}));
}

GatedCrossAttentionBlockImpl::GatedCrossAttentionBlockImpl(const GatedCrossAttentionConfig& c) {
  attn = register_module("attn", MaskedCrossAttention(c));
  attn_gate = register_parameter("attn_gate", torch::zeros({1}));
  ff = register_module("ff", flamingo_feed_forward(c.dim, c.ff_mult));
  ff_gate = register_parameter("ff_gate", torch::zeros({1}));
}

at::Tensor GatedCrossAttentionBlockImpl::forward(const at::Tensor& x, const at::Tensor& media,
                                                 const at::Tensor& text_time, at::Tensor* probs) {
  at::Tensor h = attn(x, media, text_time, probs) * attn_gate.tanh() + x;
  return ff->forward(h) * ff_gate.tanh() + h;
}

}  // namespace lavender::vlm
