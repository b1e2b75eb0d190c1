// MiniCPM-Llama3-V 2.5's resampler (the release's resampler.py, `resampler.*`): one cross-attention
// layer in which `query_num` learned queries read a variable-size grid of vision features.
//   keys   = ln_kv(kv_proj(x)) + 2-D sin-cos position of each patch (row-major over h × w)
//   values = ln_kv(kv_proj(x))
//   out    = ln_post(MultiheadAttention(ln_q(query), keys, values)) @ proj
// The attention is torch.nn.MultiheadAttention: one packed `attn.in_proj_weight` / `in_proj_bias`
// split into q, k, v (in that order), `attn.out_proj`, heads = LLM hidden size / 128. Keys beyond
// an image's h·w patches are masked (key_padding_mask), so padding never reaches the output.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/normalization.h>

#include "lavender/nn/linear.h"

namespace lavender::vlm {

// The release's fixed sin-cos table [rows, cols, dim] in float32: the first half of the channels
// encodes the column (x) index, the second half the row (y) index, each half [sin | cos] over
// frequencies 1 / 10000^(i / (dim/4)), i < dim/4 (numpy float32 upstream).
at::Tensor sincos_2d_table(int64_t dim, int64_t rows, int64_t cols);

// torch.nn.MultiheadAttention's parameters under their names (`in_proj_weight`, `in_proj_bias`,
// `out_proj`), batch-first here.
class MultiheadAttentionImpl : public torch::nn::Module {
 public:
  MultiheadAttentionImpl(int64_t dim, int64_t heads);
  // q [B, Tq, D], k/v [B, Tk, D], key_padding_mask [B, Tk] bool (true = ignore) or undefined.
  // `probs`, when given, receives the per-head softmax probabilities [B, heads, Tq, Tk].
  at::Tensor forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const at::Tensor& key_padding_mask, at::Tensor* probs = nullptr);

  at::Tensor in_proj_weight, in_proj_bias;
  nn::Linear out_proj{nullptr};

 private:
  int64_t dim_, heads_;
};
TORCH_MODULE(MultiheadAttention);

struct ResamplerOutput {
  at::Tensor out;         // [N, query_num, embed_dim]
  at::Tensor attn_heads;  // [N, heads, query_num, Lmax] when asked
};

class MiniCpmVResamplerImpl : public torch::nn::Module {
 public:
  // The release's table covers 70 × 70 patches and grows when an image needs more.
  MiniCpmVResamplerImpl(int64_t num_queries, int64_t embed_dim, int64_t heads, int64_t kv_dim,
                        int64_t max_size = 70);
  // x [N, L, kv_dim] vision features (image n's first h·w rows are real), tgt_sizes [N, 2] (h, w).
  ResamplerOutput forward(const at::Tensor& x, const at::Tensor& tgt_sizes,
                          bool capture_attention = false);
  int64_t num_heads() const { return heads_; }

  at::Tensor query, proj;
  nn::Linear kv_proj{nullptr};  // null when kv_dim == embed_dim (the release's Identity)
  MultiheadAttention attn{nullptr};
  torch::nn::LayerNorm ln_q{nullptr}, ln_kv{nullptr}, ln_post{nullptr};

 private:
  int64_t embed_dim_, heads_, max_size_;
  at::Tensor pos_;  // sincos_2d_table(embed_dim, max, max), cached
};
TORCH_MODULE(MiniCpmVResampler);

}  // namespace lavender::vlm
