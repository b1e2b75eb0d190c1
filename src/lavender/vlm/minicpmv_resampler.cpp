#include "lavender/vlm/minicpmv_resampler.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "lavender/nn/attention.h"
#include "lavender/util/error.h"

namespace lavender::vlm {
namespace {

// One axis: positions [n] → [n, dim] = [sin(p·ω) | cos(p·ω)], all float32.
at::Tensor sincos_1d(int64_t dim, const at::Tensor& positions) {
  const auto f32 = torch::dtype(torch::kFloat);
  at::Tensor omega = torch::arange(dim / 2, f32) / static_cast<float>(dim / 2.0);
  omega = 1.0f / torch::pow(torch::scalar_tensor(10000.0f, f32), omega);
  at::Tensor angles = positions.to(torch::kFloat).unsqueeze(-1) * omega;
  return torch::cat({angles.sin(), angles.cos()}, -1);
}

}  // namespace

at::Tensor sincos_2d_table(int64_t dim, int64_t rows, int64_t cols) {
  if (dim % 4 != 0)
    throw Error("resampler: embed dim " + std::to_string(dim) + " not divisible by 4");
  const auto f32 = torch::dtype(torch::kFloat);
  at::Tensor x = sincos_1d(dim / 2, torch::arange(cols, f32));  // [cols, dim/2]
  at::Tensor y = sincos_1d(dim / 2, torch::arange(rows, f32));  // [rows, dim/2]
  return torch::cat(
      {x.unsqueeze(0).expand({rows, cols, dim / 2}), y.unsqueeze(1).expand({rows, cols, dim / 2})},
      -1);
}

MultiheadAttentionImpl::MultiheadAttentionImpl(int64_t dim, int64_t heads)
    : dim_(dim), heads_(heads) {
  if (heads <= 0 || dim % heads != 0)
    throw Error("resampler attention: " + std::to_string(dim) + " channels in " +
                std::to_string(heads) + " heads");
  in_proj_weight = register_parameter("in_proj_weight", torch::empty({3 * dim, dim}));
  in_proj_bias = register_parameter("in_proj_bias", torch::zeros({3 * dim}));
  out_proj = register_module("out_proj", nn::Linear(dim, dim));
  torch::nn::init::xavier_uniform_(in_proj_weight);
}

at::Tensor MultiheadAttentionImpl::forward(const at::Tensor& q, const at::Tensor& k,
                                           const at::Tensor& v, const at::Tensor& key_padding_mask,
                                           at::Tensor* probs) {
  namespace F = torch::nn::functional;
  const auto w = in_proj_weight.chunk(3, 0);
  const auto b = in_proj_bias.chunk(3, 0);
  const int64_t head_dim = dim_ / heads_;
  auto split = [&](const at::Tensor& y) {
    return y.view({y.size(0), y.size(1), heads_, head_dim}).transpose(1, 2);
  };
  at::Tensor mask;
  if (key_padding_mask.defined())
    mask =
        torch::zeros(key_padding_mask.sizes(), q.options())
            .masked_fill(key_padding_mask.to(q.device()), -std::numeric_limits<float>::infinity())
            .view({key_padding_mask.size(0), 1, 1, key_padding_mask.size(1)});
  nn::AttentionCapture capture;
  at::Tensor out =
      nn::attention(split(F::linear(q, w[0], b[0])), split(F::linear(k, w[1], b[1])),
                    split(F::linear(v, w[2], b[2])), mask, /*causal=*/false,
                    1.0 / std::sqrt(static_cast<double>(head_dim)), probs ? &capture : nullptr);
  if (probs) *probs = capture.probs;
  return out_proj(out.transpose(1, 2).reshape({q.size(0), q.size(1), dim_}));
}

MiniCpmVResamplerImpl::MiniCpmVResamplerImpl(int64_t num_queries, int64_t embed_dim, int64_t heads,
                                             int64_t kv_dim, int64_t max_size)
    : embed_dim_(embed_dim), heads_(heads), max_size_(max_size) {
  query = register_parameter("query", torch::zeros({num_queries, embed_dim}));
  proj = register_parameter(
      "proj", torch::randn({embed_dim, embed_dim}) / std::sqrt(static_cast<double>(embed_dim)));
  if (kv_dim != embed_dim)
    kv_proj = register_module("kv_proj",
                              nn::Linear(torch::nn::LinearOptions(kv_dim, embed_dim).bias(false)));
  attn = register_module("attn", MultiheadAttention(embed_dim, heads));
  // partial(nn.LayerNorm, eps=1e-6) in the release.
  auto norm = [&] {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({embed_dim}).eps(1e-6));
  };
  ln_q = register_module("ln_q", norm());
  ln_kv = register_module("ln_kv", norm());
  ln_post = register_module("ln_post", norm());
  pos_ = sincos_2d_table(embed_dim, max_size, max_size);
}

ResamplerOutput MiniCpmVResamplerImpl::forward(const at::Tensor& x, const at::Tensor& tgt_sizes,
                                               bool capture_attention) {
  if (x.dim() != 3 || tgt_sizes.dim() != 2 || tgt_sizes.size(0) != x.size(0) ||
      tgt_sizes.size(1) != 2)
    throw Error("resampler: need features [N, L, dim] and tgt_sizes [N, 2]");
  const int64_t n = x.size(0), len = x.size(1);
  const at::Tensor sizes = tgt_sizes.to(torch::kCPU, torch::kLong);
  // The table grows (as the release's _adjust_pos_cache) when an image outgrows it.
  const int64_t need = std::max(sizes.max().item<int64_t>(), max_size_);
  if (need > pos_.size(0)) pos_ = sincos_2d_table(embed_dim_, need, need);

  at::Tensor pos = torch::zeros({n, len, embed_dim_}, torch::dtype(torch::kFloat));
  at::Tensor padding = torch::ones({n, len}, torch::dtype(torch::kBool));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t h = sizes[i][0].item<int64_t>(), w = sizes[i][1].item<int64_t>();
    if (h * w > len || h <= 0 || w <= 0)
      throw Error("resampler: image " + std::to_string(i) + " of " + std::to_string(h) + "x" +
                  std::to_string(w) + " patches, but features hold " + std::to_string(len));
    pos[i].narrow(0, 0, h * w).copy_(pos_.narrow(0, 0, h).narrow(1, 0, w).reshape({h * w, -1}));
    padding[i].narrow(0, 0, h * w).fill_(false);
  }
  at::Tensor kv = kv_proj ? kv_proj(x) : x;
  kv = ln_kv(kv);
  at::Tensor q = ln_q(query).unsqueeze(0).expand({n, query.size(0), embed_dim_});
  ResamplerOutput r;
  at::Tensor out = attn(q, kv + pos.to(kv.device(), kv.scalar_type()), kv, padding,
                        capture_attention ? &r.attn_heads : nullptr);
  r.out = torch::matmul(ln_post(out), proj);
  return r;
}

}  // namespace lavender::vlm
