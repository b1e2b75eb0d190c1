#include "lavender/vlm/perceiver_resampler.h"

#include <torch/torch.h>

#include <cmath>

#include "lavender/nn/attention.h"
#include "lavender/util/error.h"

namespace lavender::vlm {
namespace {

nn::Linear perceiver_linear(int64_t in, int64_t out) {
  return nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
}

torch::nn::LayerNorm perceiver_norm(int64_t dim) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}));
}

}  // namespace

torch::nn::Sequential flamingo_feed_forward(int64_t dim, int64_t mult) {
  return torch::nn::Sequential(perceiver_norm(dim), perceiver_linear(dim, dim * mult),
                               torch::nn::GELU(), perceiver_linear(dim * mult, dim));
}

PerceiverAttentionImpl::PerceiverAttentionImpl(int64_t dim, int64_t heads, int64_t dim_head)
    : heads_(heads), dim_head_(dim_head) {
  norm_media = register_module("norm_media", perceiver_norm(dim));
  norm_latents = register_module("norm_latents", perceiver_norm(dim));
  to_q = register_module("to_q", perceiver_linear(dim, heads * dim_head));
  to_kv = register_module("to_kv", perceiver_linear(dim, 2 * heads * dim_head));
  to_out = register_module("to_out", perceiver_linear(heads * dim_head, dim));
}

at::Tensor PerceiverAttentionImpl::forward(const at::Tensor& media, const at::Tensor& latents,
                                           at::Tensor* probs) {
  const int64_t n = latents.size(0), l = latents.size(1);
  at::Tensor x = norm_media(media);
  at::Tensor lat = norm_latents(latents);
  auto split = [&](const at::Tensor& y) {
    return y.reshape({n, y.size(1), heads_, dim_head_}).transpose(1, 2);
  };
  at::Tensor q = split(to_q(lat));
  // Keys and values over the media tokens followed by the latents themselves.
  auto kv = to_kv(torch::cat({x, lat}, 1)).chunk(2, -1);
  nn::AttentionCapture capture;
  at::Tensor out =
      nn::attention(q, split(kv[0]), split(kv[1]), at::Tensor(), /*causal=*/false,
                    1.0 / std::sqrt(static_cast<double>(dim_head_)), probs ? &capture : nullptr);
  if (probs) *probs = capture.probs;
  return to_out(out.transpose(1, 2).reshape({n, l, heads_ * dim_head_}));
}

PerceiverResamplerImpl::PerceiverResamplerImpl(const PerceiverConfig& c) : config_(c) {
  latents = register_parameter("latents", torch::randn({c.num_latents, c.dim}));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.depth; ++i) {
    torch::nn::ModuleList layer;
    layer->push_back(PerceiverAttention(c.dim, c.heads, c.dim_head));
    layer->push_back(flamingo_feed_forward(c.dim, c.ff_mult));
    layers->push_back(layer);
  }
  norm = register_module("norm", perceiver_norm(c.dim));
}

at::Tensor PerceiverResamplerImpl::forward(const at::Tensor& x, std::vector<at::Tensor>* probs) {
  if (x.dim() != 4 || x.size(3) != config_.dim)
    throw Error("Perceiver resampler: expected features [batch, images, tokens, " +
                std::to_string(config_.dim) + "]");
  const int64_t b = x.size(0), t = x.size(1);
  // Each image is resampled on its own: fold images into the batch.
  at::Tensor media = x.reshape({b * t, x.size(2), x.size(3)});
  at::Tensor lat = latents.unsqueeze(0).expand({b * t, config_.num_latents, config_.dim});
  if (probs) probs->clear();
  for (const auto& layer : *layers) {
    auto& pair = *layer->as<torch::nn::ModuleList>();
    at::Tensor p;
    lat = pair[0]->as<PerceiverAttention>()->forward(media, lat, probs ? &p : nullptr) + lat;
    lat = pair[1]->as<torch::nn::Sequential>()->forward(lat) + lat;
    if (probs) probs->push_back(p);
  }
  return norm(lat).reshape({b, t, config_.num_latents, config_.dim});
}

}  // namespace lavender::vlm
