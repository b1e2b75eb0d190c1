#include "lavender/nn/attention.h"

#include <ATen/ATen.h>
#include <torch/version.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "lavender/util/error.h"

namespace lavender::nn {
namespace {

// Fused attention with an explicit scale arrived in LibTorch 2.1.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
#define LAVENDER_FUSED_ATTENTION 1
#endif

at::Tensor repeat_kv(const at::Tensor& x, int64_t heads) {
  int64_t kv_heads = x.size(1);
  if (kv_heads == heads) return x;
  if (heads % kv_heads != 0)
    throw Error("attention: query heads not a multiple of key/value heads");
  return x.repeat_interleave(heads / kv_heads, /*dim=*/1);
}

int64_t resolve_end(int64_t end, int64_t size) {
  return end < 0 ? size : std::min(end, size);
}

// Scores and probabilities materialised for one query block at most (elements), when no fused
// kernel keeps them from being materialised at all.
constexpr int64_t kMaxScores = int64_t{32} << 20;

// softmax(q kᵀ · scale + bias) v, materialising the scores.
at::Tensor eager_attention(const at::Tensor& q, const at::Tensor& key, const at::Tensor& value,
                           const at::Tensor& bias, double scale, at::Tensor* probs_out) {
  at::Tensor scores = at::matmul(q, key.transpose(-2, -1)) * scale;
  if (bias.defined()) scores = scores + bias;
  // Softmax in fp32 whatever the compute dtype, as the reference implementations do.
  at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  if (probs_out) *probs_out = probs;
  return at::matmul(probs, value);
}

// The same in blocks of query rows, so a long sequence (Llama 3.2 Vision: 16 heads × 6404²
// scores per 4-tile image, 2.6 GB in fp32) needs only a block's scores at a time. Each row's
// result is the one the whole computation gives.
at::Tensor blocked_attention(const at::Tensor& q, const at::Tensor& key, const at::Tensor& value,
                             const at::Tensor& bias, double scale) {
  const int64_t tq = q.size(2);
  const int64_t rows = std::max<int64_t>(1, kMaxScores / (q.size(0) * q.size(1) * key.size(2)));
  if (rows >= tq) return eager_attention(q, key, value, bias, scale, nullptr);
  const bool bias_rows = bias.defined() && bias.dim() >= 2 && bias.size(-2) == tq && tq > 1;
  std::vector<at::Tensor> parts;
  for (int64_t start = 0; start < tq; start += rows) {
    const int64_t n = std::min(rows, tq - start);
    const at::Tensor b = bias_rows ? bias.narrow(-2, start, n) : bias;
    parts.push_back(eager_attention(q.narrow(2, start, n), key, value, b, scale, nullptr));
  }
  return at::cat(parts, 2);
}

}  // namespace

double lowest_finite(at::ScalarType dtype) {
  switch (dtype) {
    case at::kHalf:
      return -65504.0;
    case at::kBFloat16:
      return -3.3895313892515355e38;
    case at::kDouble:
      return std::numeric_limits<double>::lowest();
    default:
      return std::numeric_limits<float>::lowest();
  }
}

at::Tensor causal_mask(int64_t tq, int64_t tk, const at::TensorOptions& options) {
  // Query i (of the last tq positions) may see keys up to tk - tq + i.
  at::Tensor allowed = at::ones({tq, tk}, options.dtype(at::kBool)).tril(tk - tq);
  return at::zeros({tq, tk}, options)
      .masked_fill(allowed.logical_not(), -std::numeric_limits<float>::infinity());
}

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const at::Tensor& mask, bool causal, double scale, AttentionCapture* capture) {
  const int64_t heads = q.size(1), tq = q.size(2), tk = k.size(2);
  at::Tensor key = repeat_kv(k, heads), value = repeat_kv(v, heads);

  at::Tensor bias = mask;
  if (causal) {
    at::Tensor c = causal_mask(tq, tk, q.options());
    bias = bias.defined() ? bias + c : c;
  }

#ifdef LAVENDER_FUSED_ATTENTION
  // Plain causal attention over a whole sequence: no dense mask, so FlashAttention can run.
  if (!capture && causal && !mask.defined() && tq == tk)
    return at::scaled_dot_product_attention(q, key, value, c10::nullopt, 0.0, /*is_causal=*/true,
                                            scale);
  if (!capture) {
    c10::optional<at::Tensor> fused_mask;
    if (bias.defined()) fused_mask = bias.to(q.scalar_type());
    return at::scaled_dot_product_attention(q, key, value, fused_mask, 0.0, /*is_causal=*/false,
                                            scale);
  }
#endif

  if (!capture) return blocked_attention(q, key, value, bias, scale);
  at::Tensor probs;
  at::Tensor out = eager_attention(q, key, value, bias, scale, &probs);
  const int64_t qe = resolve_end(capture->query_end, tq), ke = resolve_end(capture->key_end, tk);
  capture->probs = probs.slice(2, capture->query_begin, qe).slice(3, capture->key_begin, ke);
  return out;
}

}  // namespace lavender::nn
