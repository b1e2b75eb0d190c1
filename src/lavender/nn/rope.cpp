#include "lavender/nn/rope.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "lavender/util/error.h"

namespace lavender::nn {

using io::config::RopeConfig;
using io::config::RopeType;

at::Tensor rope_inv_freq(const RopeConfig& rope, int64_t head_dim, int64_t max_positions,
                         int64_t seq_len) {
  if (head_dim <= 0 || head_dim % 2 != 0)
    throw Error("RoPE: head dimension " + std::to_string(head_dim) + " must be even and positive");
  double theta = rope.theta;
  if (rope.type == RopeType::kDynamic) {
    if (max_positions <= 0) throw Error("RoPE: dynamic scaling needs max_position_embeddings");
    // NTK-aware: raise theta so the lowest frequency stretches over the longer sequence.
    const double len = static_cast<double>(std::max(seq_len, max_positions));
    const double d = static_cast<double>(head_dim);
    theta *= std::pow(rope.factor * len / static_cast<double>(max_positions) - (rope.factor - 1),
                      d / (d - 2));
  }
  // fp32 throughout, as transformers builds it: arange(0, d, 2) as int64 → float, / d, then
  // theta ** that, then 1 / ...
  at::Tensor exponent =
      at::arange(0, head_dim, 2, at::TensorOptions().dtype(at::kLong)).to(at::kFloat) /
      static_cast<double>(head_dim);
  at::Tensor inv_freq = 1.0 / at::pow(theta, exponent);
  switch (rope.type) {
    case RopeType::kDefault:
    case RopeType::kDynamic:
      return inv_freq;
    case RopeType::kLinear:
      return inv_freq / rope.factor;
    case RopeType::kLlama3: {
      const double old_len = static_cast<double>(rope.original_max_position_embeddings);
      const double low_freq_wavelen = old_len / rope.low_freq_factor;
      const double high_freq_wavelen = old_len / rope.high_freq_factor;
      at::Tensor wavelen = 2 * M_PI / inv_freq;
      // Long wavelengths are stretched by the factor; short ones are kept.
      at::Tensor scaled = at::where(wavelen > low_freq_wavelen, inv_freq / rope.factor, inv_freq);
      // In between, a linear blend in 1/wavelength of the stretched and the kept frequency.
      at::Tensor smooth = (old_len / wavelen - rope.low_freq_factor) /
                          (rope.high_freq_factor - rope.low_freq_factor);
      at::Tensor smoothed = (1 - smooth) * scaled / rope.factor + smooth * scaled;
      at::Tensor medium =
          (wavelen < high_freq_wavelen).logical_not() & (wavelen > low_freq_wavelen).logical_not();
      return at::where(medium, smoothed, scaled);
    }
  }
  throw Error("RoPE: unknown rope type");
}

double rope_attention_scaling(const RopeConfig&) {
  return 1.0;
}

RotaryEmbedding::RotaryEmbedding(const RopeConfig& rope, int64_t head_dim, int64_t max_positions)
    : rope_(rope),
      head_dim_(head_dim),
      max_positions_(max_positions),
      inv_freq_(rope_inv_freq(rope, head_dim, max_positions)),
      attention_scaling_(rope_attention_scaling(rope)) {}

std::pair<at::Tensor, at::Tensor> RotaryEmbedding::cos_sin(const at::Tensor& position_ids,
                                                           at::ScalarType dtype) const {
  if (!inv_freq_.defined()) throw Error("RoPE: rotary embedding used before construction");
  if (position_ids.dim() != 2) throw Error("RoPE: position ids must be [batch, tokens]");
  at::Tensor inv = inv_freq_;
  if (rope_.type == RopeType::kDynamic && position_ids.numel() > 0) {
    const int64_t seq_len = position_ids.max().item<int64_t>() + 1;
    if (seq_len > max_positions_) inv = rope_inv_freq(rope_, head_dim_, max_positions_, seq_len);
  }
  inv = inv.to(position_ids.device());
  // freqs[b, t, i] = position · inv_freq[i], one fp32 product as the reference's matmul with an
  // inner dimension of 1 gives.
  at::Tensor freqs = position_ids.to(at::kFloat).unsqueeze(-1) * inv.view({1, 1, -1});
  at::Tensor emb = at::cat({freqs, freqs}, -1);
  at::Tensor cos = emb.cos(), sin = emb.sin();
  if (attention_scaling_ != 1.0) cos = cos * attention_scaling_, sin = sin * attention_scaling_;
  return {cos.to(dtype), sin.to(dtype)};
}

at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  at::Tensor rotated = at::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
  return x * cos.unsqueeze(1) + rotated * sin.unsqueeze(1);
}

}  // namespace lavender::nn
