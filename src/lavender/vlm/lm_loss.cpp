#include "lavender/vlm/lm_loss.h"

#include <torch/torch.h>

namespace lavender::vlm {
namespace {

at::Tensor mean_cross_entropy(const at::Tensor& logits, const at::Tensor& targets) {
  return torch::nn::functional::cross_entropy(
      logits.to(torch::kFloat), targets,
      torch::nn::functional::CrossEntropyFuncOptions().ignore_index(-100).reduction(torch::kMean));
}

}  // namespace

at::Tensor causal_lm_loss(const at::Tensor& logits, const at::Tensor& labels) {
  const int64_t v = logits.size(-1);
  at::Tensor shifted = logits.slice(1, 0, logits.size(1) - 1).reshape({-1, v});
  at::Tensor target = labels.slice(1, 1).to(logits.device(), torch::kLong).reshape({-1});
  return mean_cross_entropy(shifted, target);
}

LmHeadOutput lm_head_and_loss(const at::Tensor& hidden, const at::Tensor& labels,
                              bool labelled_only, int64_t logits_to_keep,
                              const std::function<at::Tensor(const at::Tensor&)>& head) {
  LmHeadOutput out;
  if (!labels.defined() || !labelled_only) {
    const int64_t t = hidden.size(1);
    const bool keep_last = !labels.defined() && logits_to_keep > 0 && logits_to_keep < t;
    out.logits = head(keep_last ? hidden.slice(1, t - logits_to_keep) : hidden);
    if (labels.defined()) out.loss = causal_lm_loss(out.logits, labels);
    return out;
  }
  const int64_t t = labels.size(1);
  // Position t predicts labels[t + 1]; the last position predicts nothing.
  at::Tensor next = torch::full(labels.sizes(), -100, labels.options().dtype(torch::kLong));
  next.slice(1, 0, t - 1).copy_(labels.slice(1, 1));
  next = next.reshape({-1});
  const at::Tensor rows = torch::nonzero(next != -100).reshape({-1});
  out.logits =
      head(hidden.reshape({-1, hidden.size(-1)}).index_select(0, rows.to(hidden.device())));
  out.loss = mean_cross_entropy(out.logits, next.index_select(0, rows).to(hidden.device()));
  return out;
}

}  // namespace lavender::vlm
