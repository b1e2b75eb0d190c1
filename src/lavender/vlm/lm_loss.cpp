#include "lavender/vlm/lm_loss.h"

#include <torch/torch.h>

namespace lavender::vlm {

at::Tensor causal_lm_loss(const at::Tensor& logits, const at::Tensor& labels) {
  const int64_t v = logits.size(-1);
  at::Tensor shifted = logits.slice(1, 0, logits.size(1) - 1).to(torch::kFloat).reshape({-1, v});
  at::Tensor target = labels.slice(1, 1).to(logits.device(), torch::kLong).reshape({-1});
  return torch::nn::functional::cross_entropy(
      shifted, target,
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kMean));
}

}  // namespace lavender::vlm
