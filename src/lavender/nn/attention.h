// The one attention function every model uses. By default it takes the fast path (fused
// scaled-dot-product attention where LibTorch has it); a capture request makes it also return the
// softmax probabilities of just the block asked for (query rows × key columns), which is all the
// Lavender objective reads. Gradients flow through a captured block.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace lavender::nn {

// Which block of the [batch, heads, queries, keys] probabilities to keep. Ranges are half-open;
// an end of -1 means "to the end".
struct AttentionCapture {
  int64_t query_begin = 0, query_end = -1;
  int64_t key_begin = 0, key_end = -1;
  at::Tensor probs;  // filled by attention(): [batch, heads, n_queries, n_keys] of the block
};

// q: [batch, heads, Tq, d], k/v: [batch, heads, Tk, d] (k/v may have fewer heads: grouped-query
// attention repeats them). `mask`: undefined, or additive (0 / -inf, broadcastable to
// [batch, heads, Tq, Tk]). `causal` adds the usual lower-triangular mask (aligned at the end when
// Tq < Tk, as with a KV cache). Returns [batch, heads, Tq, d].
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const at::Tensor& mask, bool causal, double scale,
                     AttentionCapture* capture = nullptr);

// The most negative finite value of `dtype` (torch.finfo(dtype).min), what transformers' eager
// masks use so that a row with nothing to attend to stays finite instead of becoming NaN.
double lowest_finite(at::ScalarType dtype);

// An additive causal mask [Tq, Tk] (0 on and below the shifted diagonal, -inf above).
at::Tensor causal_mask(int64_t tq, int64_t tk, const at::TensorOptions& options);

}  // namespace lavender::nn
