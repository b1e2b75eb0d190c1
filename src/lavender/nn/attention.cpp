#include "lavender/nn/attention.h"

#include <ATen/ATen.h>
#include <torch/version.h>

#include <limits>

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
  if (!capture) {
    c10::optional<at::Tensor> fused_mask;
    if (bias.defined()) fused_mask = bias.to(q.scalar_type());
    return at::scaled_dot_product_attention(q, key, value, fused_mask, 0.0, /*is_causal=*/false,
                                            scale);
  }
#endif

  at::Tensor scores = at::matmul(q, key.transpose(-2, -1)) * scale;
  if (bias.defined()) scores = scores + bias;
  // Softmax in fp32 whatever the compute dtype, as the reference implementations do.
  at::Tensor probs = at::softmax(scores, -1, at::kFloat).to(q.scalar_type());
  if (capture) {
    int64_t qe = resolve_end(capture->query_end, tq), ke = resolve_end(capture->key_end, tk);
    capture->probs = probs.slice(2, capture->query_begin, qe).slice(3, capture->key_begin, ke);
  }
  return at::matmul(probs, value);
}

}  // namespace lavender::nn
