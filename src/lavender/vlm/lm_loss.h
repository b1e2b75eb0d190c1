// The ordinary next-token loss every VLM here trains with (L_VLM in METHOD.md).
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>

namespace lavender::vlm {

// Mean cross-entropy of logits [B, T, V] predicting labels shifted by one (position t predicts
// labels[t + 1]); -100 labels are ignored. Computed in fp32.
at::Tensor causal_lm_loss(const at::Tensor& logits, const at::Tensor& labels);

// The LM head and the loss of a forward pass, as its inputs ask. With labels and
// `labelled_only` (training), `head` (hidden [N, D] → logits [N, V]) runs only on the N positions t
// whose next label labels[t + 1] is not -100, row-major over hidden [B, T, D]: logits [N, V], and
// the loss equals causal_lm_loss of the full logits. With a few answer tokens per sample the
// vocabulary projection shrinks to a small part of every position's. Otherwise the head runs on
// every position ([B, T, V]), or on the last `logits_to_keep` (> 0) when there are no labels, and
// the loss is causal_lm_loss when labels are given.
struct LmHeadOutput {
  at::Tensor logits;
  at::Tensor loss;  // scalar fp32; undefined without labels
};
LmHeadOutput lm_head_and_loss(const at::Tensor& hidden, const at::Tensor& labels,
                              bool labelled_only, int64_t logits_to_keep,
                              const std::function<at::Tensor(const at::Tensor&)>& head);

}  // namespace lavender::vlm
