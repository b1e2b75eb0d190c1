#include "lavender/dm/aggregate.h"

#include <torch/torch.h>

#include "lavender/align/attention_maps.h"
#include "lavender/align/map_ops.h"
#include "lavender/util/error.h"

namespace lavender::dm {

using align::minmax_normalise;
using align::resize_maps;

namespace {

// [B, T, H·W]: the mean over heads of [B, heads, H·W, T] probabilities, or with contrast_power > 0
// the heads' maps relative to their image mean, weighted by coefficient of variation^power.
at::Tensor pool_heads(const at::Tensor& probs, double contrast_power) {
  at::Tensor p = probs.to(torch::kFloat);
  if (contrast_power <= 0) return p.mean(1).transpose(1, 2);
  at::Tensor mean = p.mean(2, /*keepdim=*/true).clamp_min(1e-12);  // [B, heads, 1, T]
  at::Tensor relative = p / mean;
  at::Tensor weight = relative.std(2, /*unbiased=*/true, /*keepdim=*/true).pow(contrast_power);
  return (relative * weight).sum(1).transpose(1, 2);
}

}  // namespace

at::Tensor combine_layers(const std::vector<LayerAttention>& layers, int64_t grid,
                          double contrast_power) {
  if (layers.empty()) throw Error("attention aggregation: no cross-attention layers captured");
  double total_weight = 0;
  for (const auto& l : layers) total_weight += l.weight;
  if (total_weight <= 0) throw Error("attention aggregation: layer weights must sum to > 0");
  at::Tensor sum;
  for (const auto& l : layers) {
    if (l.probs.dim() != 4 || l.probs.size(2) != l.height * l.width)
      throw Error("attention aggregation: a layer's maps are not [B, heads, " +
                  std::to_string(l.height) + "x" + std::to_string(l.width) + ", T]");
    const int64_t b = l.probs.size(0), t = l.probs.size(3);
    // heads pooled, then text positions as channels of an image: [B, T, H, W]
    at::Tensor maps = pool_heads(l.probs, contrast_power).reshape({b, t, l.height, l.width});
    at::Tensor resized = resize_maps(maps, grid, grid) * (l.weight / total_weight);
    if (sum.defined() && sum.sizes() != resized.sizes())
      throw Error("attention aggregation: layers disagree on batch or text length");
    sum = sum.defined() ? sum + resized : resized;
  }
  return sum;
}

at::Tensor word_maps(const at::Tensor& token_maps, const std::vector<int>& word_of_token,
                     int n_words, int64_t size) {
  if (token_maps.dim() != 3) throw Error("word_maps: token maps must be [T, H, W]");
  const int64_t t = token_maps.size(0);
  if (static_cast<int64_t>(word_of_token.size()) > t)
    throw Error("word_maps: more token positions than maps");
  at::Tensor words = align::word_maps_from_tokens(token_maps, word_of_token, n_words);
  return minmax_normalise(resize_maps(words.unsqueeze(0), size, size).squeeze(0));
}

}  // namespace lavender::dm
