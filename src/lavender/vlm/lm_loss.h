// The ordinary next-token loss every VLM here trains with (L_VLM in METHOD.md).
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>

namespace lavender::vlm {

// Mean cross-entropy of logits [B, T, V] predicting labels shifted by one (position t predicts
// labels[t + 1]); -100 labels are ignored. Computed in fp32.
at::Tensor causal_lm_loss(const at::Tensor& logits, const at::Tensor& labels);

// The logits at the positions the loss reads and the loss from them: `head` (the LM head) maps
// hidden [N, D] to logits [N, V], and runs only on the N positions t whose next label
// labels[t + 1] is not -100 (row-major over hidden [B, T, D]). The loss equals causal_lm_loss of
// the full logits; training needs nothing else, and with a few answer tokens per sample the
// vocabulary projection shrinks to a small part of every position's.
struct LabelledLogits {
  at::Tensor logits;  // [N, V]
  at::Tensor loss;    // scalar fp32
};
LabelledLogits labelled_logits(const at::Tensor& hidden, const at::Tensor& labels,
                               const std::function<at::Tensor(const at::Tensor&)>& head);

}  // namespace lavender::vlm
