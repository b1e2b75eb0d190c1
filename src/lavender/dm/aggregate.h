// Turning captured cross-attention probabilities into one map per word, as METHOD.md describes:
// mean over heads → layers resized to a common grid and averaged (with weights) → (the caller
// averages over timesteps / noise samples) → per word the mean over its sub-word tokens →
// bilinear resize to S×S → min-max normalisation of each word's map to [0, 1].
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace lavender::dm {

// One cross-attention layer's probabilities for a batch.
struct LayerAttention {
  at::Tensor probs;  // [B, heads, H·W, T] softmax over the T text positions
  int64_t height = 0, width = 0;
  double weight = 1.0;
};

// [B, T, grid, grid]: heads averaged, each layer resized to grid×grid (bilinear) and the layers
// averaged with their weights (normalised to sum to one). Throws lavender::Error on a layer
// whose H·W disagrees with its height × width, or on mismatched batch/text sizes.
at::Tensor combine_layers(const std::vector<LayerAttention>& layers, int64_t grid);

// [n_words, size, size] for one sample: word w is the mean over the token positions t with
// word_of_token[t] == w (positions with -1 are ignored), resized to size×size and min-max
// normalised. `token_maps` is [T, grid, grid]. Words with no token (cut off by truncation) come
// out as zero maps.
at::Tensor word_maps(const at::Tensor& token_maps, const std::vector<int>& word_of_token,
                     int n_words, int64_t size);

}  // namespace lavender::dm
