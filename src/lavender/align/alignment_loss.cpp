#include "lavender/align/alignment_loss.h"

#include <torch/torch.h>

#include "lavender/util/error.h"

namespace lavender::align {

at::Tensor student_word_block(const at::Tensor& probs, const at::Tensor& averaging) {
  if (probs.dim() != 4 || averaging.dim() != 3 || averaging.size(0) != probs.size(0) ||
      averaging.size(2) != probs.size(2))
    throw Error("alignment: attention rows [B, H, R, N] and word averaging [B, W, R] disagree");
  return torch::matmul(averaging.to(probs.dtype()).unsqueeze(1), probs);
}

AttentionAlignmentImpl::AttentionAlignmentImpl(AlignmentOptions options, int64_t heads)
    : options_(std::move(options)) {
  options_.aligner.in_channels = pooled_channels(options_.pooling, heads);
  aligner = register_module("aligner", Aligner(options_.aligner));
}

AlignmentResult AttentionAlignmentImpl::forward(const at::Tensor& maps, const at::Tensor& teacher,
                                                const at::Tensor& valid) {
  if (maps.dim() != 6 || teacher.dim() != 4 || valid.dim() != 2 ||
      teacher.size(0) != maps.size(0) || teacher.size(1) != maps.size(3) ||
      valid.sizes() != teacher.sizes().slice(0, 2) || teacher.size(2) != maps.size(4))
    throw Error(
        "alignment: student maps [B, L, H, W, S, S], teacher [B, W, S, S] and valid "
        "[B, W] disagree");
  AlignmentResult out;
  at::Tensor flat_valid = valid.flatten().to(torch::kBool);
  out.words = flat_valid.sum().item<int64_t>();
  if (out.words == 0) {
    out.loss = torch::zeros({}, maps.options().dtype(torch::kFloat));
    return out;
  }
  at::Tensor index = flat_valid.nonzero().squeeze(1).to(maps.device());
  at::Tensor pooled = pool_heads_layers(maps, options_.pooling);  // [B, W, C, S, S]
  pooled = pooled.flatten(0, 1).index_select(0, index);           // [n, C, S, S]
  // The Aligner runs in fp32 whatever the student's dtype: its maps are tiny and its min-max
  // normalisation divides by small ranges.
  out.student = aligner->forward(pooled.to(torch::kFloat));
  out.teacher = teacher.flatten(0, 1).index_select(0, index).to(out.student.dtype());
  // Per word the MSE over its S×S positions; summed and divided by the matched words.
  out.loss = (out.student - out.teacher).pow(2).mean({1, 2}).sum() / static_cast<double>(out.words);
  return out;
}

}  // namespace lavender::align
