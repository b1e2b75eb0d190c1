#include "lavender/nn/parallel_attention.h"

#include <torch/torch.h>

namespace lavender::nn {

ParallelProjectionsImpl::ParallelProjectionsImpl(const Linear& q_source, const Linear& k_source,
                                                 int64_t heads, int64_t kv_heads,
                                                 int64_t head_dim) {
  const int64_t in_q = q_source->weight.size(1), in_k = k_source->weight.size(1);
  q = register_module("q", Linear(torch::nn::LinearOptions(in_q, heads * head_dim).bias(false)));
  k = register_module("k", Linear(torch::nn::LinearOptions(in_k, heads * head_dim).bias(false)));
  torch::NoGradGuard no_grad;
  q->weight.copy_(q_source->weight);
  // Query head h reads key head h / (heads / kv_heads): repeat each key head's rows that often.
  at::Tensor kw = k_source->weight.view({kv_heads, head_dim, in_k});
  k->weight.copy_(kw.repeat_interleave(heads / kv_heads, 0).reshape({heads * head_dim, in_k}));
  q->weight.set_data(q->weight.to(q_source->weight.options()));
  k->weight.set_data(k->weight.to(k_source->weight.options()));
}

at::Tensor parallel_block_probs(const at::Tensor& q, const at::Tensor& k, const at::Tensor& mask,
                                double scale, const AttentionCapture& block) {
  const int64_t tq = q.size(2), tk = k.size(2);
  const int64_t q0 = block.query_begin, q1 = block.query_end < 0 ? tq : block.query_end;
  const int64_t k0 = block.key_begin, k1 = block.key_end < 0 ? tk : block.key_end;
  at::Tensor scores =
      torch::matmul(q.slice(2, q0, q1).to(torch::kFloat),
                    k.slice(2, k0, k1).to(torch::kFloat).transpose(-1, -2)) * scale;
  if (mask.defined()) {
    at::Tensor m = mask;
    if (m.size(-2) != 1) m = m.slice(-2, q0, q1);
    if (m.size(-1) != 1) m = m.slice(-1, k0, k1);
    scores = scores + m.to(torch::kFloat);
  }
  return torch::softmax(scores, -1).to(q.scalar_type());
}

}  // namespace lavender::nn
