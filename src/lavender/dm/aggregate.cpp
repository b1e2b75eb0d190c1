#include "lavender/dm/aggregate.h"

#include <torch/torch.h>

#include "lavender/align/attention_maps.h"
#include "lavender/align/map_ops.h"
#include "lavender/util/error.h"

namespace lavender::dm {

using align::minmax_normalise;
using align::resize_maps;

at::Tensor combine_layers(const std::vector<LayerAttention>& layers, int64_t grid) {
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
    // mean over heads, then text positions as channels of an image: [B, T, H, W]
    at::Tensor maps =
        l.probs.to(torch::kFloat).mean(1).transpose(1, 2).reshape({b, t, l.height, l.width});
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
