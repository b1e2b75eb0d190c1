// Rotary position embeddings as transformers computes them for Llama-style models: the inverse
// frequencies of the configured variant ("default", "linear", "llama3"), cos/sin tables for given
// position ids, and the rotation of query/key heads (rotate_half convention: the head's first
// and second halves form the pairs).
#pragma once

#include <ATen/core/Tensor.h>

#include <utility>

#include "lavender/io/config/llama.h"

namespace lavender::nn {

// inv_freq [head_dim / 2] in fp32, computed with the reference's operations and order:
// default  1 / theta^(2i / d);
// linear   the default divided by `factor`;
// llama3   long wavelengths (> original_max / low_freq_factor) divided by `factor`, short ones
//          (< original_max / high_freq_factor) kept, the band between interpolated smoothly;
// dynamic  the default up to `max_positions`; for a longer sequence of `seq_len` positions,
//          theta · (factor · seq_len / max_positions − (factor − 1))^(d / (d − 2)).
at::Tensor rope_inv_freq(const io::config::RopeConfig& rope, int64_t head_dim,
                         int64_t max_positions = 0, int64_t seq_len = 0);

// The factor cos and sin are multiplied by (1 for the variants above; YaRN-style variants
// would differ).
double rope_attention_scaling(const io::config::RopeConfig& rope);

class RotaryEmbedding {
 public:
  RotaryEmbedding() = default;
  // `max_positions`: the model's max_position_embeddings (dynamic scaling starts beyond it).
  RotaryEmbedding(const io::config::RopeConfig& rope, int64_t head_dim, int64_t max_positions = 0);

  // position_ids [B, T] (integer) → cos, sin [B, T, head_dim] in `dtype`, on the ids' device.
  // Dynamic scaling takes the sequence length from the largest position id (stateless:
  // transformers keeps the largest length seen so far instead, which differs only when a
  // shorter sequence beyond max_positions follows a longer one).
  std::pair<at::Tensor, at::Tensor> cos_sin(const at::Tensor& position_ids,
                                            at::ScalarType dtype) const;
  const at::Tensor& inv_freq() const { return inv_freq_; }
  double attention_scaling() const { return attention_scaling_; }

 private:
  io::config::RopeConfig rope_;
  int64_t head_dim_ = 0, max_positions_ = 0;
  at::Tensor inv_freq_;
  double attention_scaling_ = 1.0;
};

// x [B, heads, T, d] rotated by cos/sin [B, T, d]: x·cos + rotate_half(x)·sin.
at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

}  // namespace lavender::nn
