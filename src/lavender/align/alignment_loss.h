// L_att (METHOD.md): the student's per-word maps from the chosen layers, pooled over heads and
// layers, refined by the Aligner, compared by MSE with the teacher's maps of the same words.
//
//   student_word_block  rows of captured attention averaged into words (before any resize: the
//                       mean over a word's tokens commutes with the linear resize)
//   AttentionAlignment  pooling + Aligner + MSE, one module so that its parameters train and
//                       checkpoint together
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include "lavender/align/aligner.h"
#include "lavender/align/head_layer_pooling.h"

namespace lavender::align {

// probs [B, H, R, N] (captured text rows × image columns), averaging [B, W, R] (row weights of
// each word, rows of a word summing to 1, zero rows for padding words) → [B, H, W, N].
at::Tensor student_word_block(const at::Tensor& probs, const at::Tensor& averaging);

struct AlignmentOptions {
  // The authors' default: heads kept as the Aligner's channels, layers averaged.
  HeadLayerPooling pooling = parse_head_layer_pooling("heads-mean");
  AlignerOptions aligner;  // in_channels is set from the pooling and the model's heads
  int64_t map_size = 32;
};

struct AlignmentResult {
  at::Tensor loss;     // scalar: sum of per-word MSEs / matched words (0 when none)
  int64_t words = 0;   // matched words in the batch
  at::Tensor student;  // [words, S, S] the Aligner's maps of the matched words, in batch order
  at::Tensor teacher;  // [words, S, S] the teacher's maps they were compared with
};

class AttentionAlignmentImpl : public torch::nn::Module {
 public:
  AttentionAlignmentImpl(AlignmentOptions options, int64_t heads);

  // maps [B, L, H, W, S, S] (student word maps of L layers), teacher [B, W, S, S] in [0, 1],
  // valid [B, W] bool (false for padding words). Only valid words go through the Aligner.
  AlignmentResult forward(const at::Tensor& maps, const at::Tensor& teacher,
                          const at::Tensor& valid);

  const AlignmentOptions& options() const { return options_; }
  Aligner aligner{nullptr};

 private:
  AlignmentOptions options_;
};
TORCH_MODULE(AttentionAlignment);

}  // namespace lavender::align
