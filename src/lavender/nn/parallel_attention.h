// Learned parallel attention (METHOD.md): new projections W_Qd, W_Kd beside a layer's pretrained
// W_Q, W_K. Their attention A_d = softmax(Q_d K_dᵀ / √d) over the captured block (text rows ×
// image columns) is what the Lavender loss aligns, while the pretrained attention keeps serving
// the forward pass, which limits forgetting.
//
// The projections start as copies of the pretrained ones (keys repeated over the query heads
// they serve under grouped-query attention), so A_d begins as the pretrained attention restricted
// to the image columns, and learn from there. Their parameters are named `parallel_attn.q.weight`
// and `parallel_attn.k.weight` under the attention module.
#pragma once

#include <torch/nn/module.h>

#include "lavender/nn/attention.h"
#include "lavender/nn/linear.h"

namespace lavender::nn {

class ParallelProjectionsImpl : public torch::nn::Module {
 public:
  ParallelProjectionsImpl(const Linear& q_source, const Linear& k_source, int64_t heads,
                          int64_t kv_heads, int64_t head_dim);
  Linear q{nullptr}, k{nullptr};
};
TORCH_MODULE(ParallelProjections);

// q [B, H, Tq, d] and k [B, H, Tk, d] (already normed / rotated as the layer does), `mask`
// additive broadcastable to [B, H, Tq, Tk] or undefined → the block's probabilities
// [B, H, rows, columns] for the rows and columns `block` names, softmax over the block's columns
// (computed in fp32, returned in q's dtype).
at::Tensor parallel_block_probs(const at::Tensor& q, const at::Tensor& k, const at::Tensor& mask,
                                double scale, const AttentionCapture& block);

}  // namespace lavender::nn
