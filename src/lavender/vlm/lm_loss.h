// The ordinary next-token loss every VLM here trains with (L_VLM in METHOD.md).
#pragma once

#include <ATen/core/Tensor.h>

namespace lavender::vlm {

// Mean cross-entropy of logits [B, T, V] predicting labels shifted by one (position t predicts
// labels[t + 1]); -100 labels are ignored. Computed in fp32.
at::Tensor causal_lm_loss(const at::Tensor& logits, const at::Tensor& labels);

}  // namespace lavender::vlm
