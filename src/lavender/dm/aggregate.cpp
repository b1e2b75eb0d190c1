#include "lavender/dm/aggregate.h"

#include <torch/torch.h>

#include "lavender/util/error.h"

namespace lavender::dm {
namespace {

namespace F = torch::nn::functional;

at::Tensor resize(const at::Tensor& maps, int64_t height, int64_t width) {
  if (maps.size(-2) == height && maps.size(-1) == width) return maps;
  return F::interpolate(maps, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{height, width})
                                  .mode(torch::kBilinear)
                                  .align_corners(false));
}

}  // namespace

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
    at::Tensor resized = resize(maps, grid, grid) * (l.weight / total_weight);
    if (sum.defined() && sum.sizes() != resized.sizes())
      throw Error("attention aggregation: layers disagree on batch or text length");
    sum = sum.defined() ? sum + resized : resized;
  }
  return sum;
}

at::Tensor minmax_normalise(const at::Tensor& maps) {
  at::Tensor flat = maps.flatten(-2);
  at::Tensor lo = std::get<0>(flat.min(-1, true)), hi = std::get<0>(flat.max(-1, true));
  at::Tensor range = hi - lo;
  at::Tensor out = (flat - lo) / range.clamp_min(1e-12);
  out = out.masked_fill(range <= 1e-12, 0.0);
  return out.view(maps.sizes());
}

at::Tensor word_maps(const at::Tensor& token_maps, const std::vector<int>& word_of_token,
                     int n_words, int64_t size) {
  if (token_maps.dim() != 3) throw Error("word_maps: token maps must be [T, H, W]");
  const int64_t t = token_maps.size(0);
  if (static_cast<int64_t>(word_of_token.size()) > t)
    throw Error("word_maps: more token positions than maps");
  // Averaging matrix [n_words, T]: row w holds 1/k on the k tokens of word w. Filled on the CPU
  // (an accessor cannot touch GPU memory), then moved beside the maps.
  at::Tensor assign = torch::zeros({n_words, t}, torch::kFloat);
  std::vector<int> counts(static_cast<size_t>(n_words), 0);
  for (size_t i = 0; i < word_of_token.size(); ++i) {
    int w = word_of_token[i];
    if (w < -1 || w >= n_words) throw Error("word_maps: word index out of range");
    if (w >= 0) ++counts[static_cast<size_t>(w)];
  }
  auto a = assign.accessor<float, 2>();
  for (size_t i = 0; i < word_of_token.size(); ++i) {
    int w = word_of_token[i];
    if (w >= 0)
      a[w][static_cast<int64_t>(i)] = 1.0f / static_cast<float>(counts[static_cast<size_t>(w)]);
  }
  assign = assign.to(token_maps.device(), token_maps.scalar_type());
  at::Tensor words = at::matmul(assign, token_maps.flatten(1))
                         .view({n_words, token_maps.size(1), token_maps.size(2)});
  return minmax_normalise(resize(words.unsqueeze(0), size, size).squeeze(0));
}

}  // namespace lavender::dm
