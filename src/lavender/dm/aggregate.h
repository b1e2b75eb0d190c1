// Turning captured cross-attention probabilities into one map per word, as METHOD.md describes:
// mean over heads (or contrast-weighted, below) → layers resized to a common grid and averaged
// (with weights) → (the caller
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

// [B, T, grid, grid]: each layer resized to grid×grid (bilinear) and the layers summed with
// their weights (normalised to sum to one). How the heads of a layer combine:
//  - contrast_power 0 (the published recipes): the mean of the heads' probabilities;
//  - contrast_power k > 0: each head's map of a token divided by its mean over the image (attention
//    relative to its average) and weighted by its coefficient of variation over the image to the
//    k-th power, the weights not normalised, so that across heads and layers the maps that pick
//    something out dominate those that spread evenly. The small pixel-space models of train-dm
//    split the words between their two attentions per block and their heads, differently from one
//    training seed to the next (colour words in one, shape words in the other); a plain mean
//    mixes each word's one informative map with the others' noise (see recipe.cpp's figures).
//    Only relative values survive: the per-word maps are min-max normalised afterwards.
// Throws lavender::Error on a layer whose H·W disagrees with its height × width, or on mismatched
// batch/text sizes.
at::Tensor combine_layers(const std::vector<LayerAttention>& layers, int64_t grid,
                          double contrast_power = 0);

// [n_words, size, size] for one sample: word w is the mean over the token positions t with
// word_of_token[t] == w (positions with -1 are ignored), resized to size×size and min-max
// normalised. `token_maps` is [T, grid, grid]. Words with no token (cut off by truncation) come
// out as zero maps.
at::Tensor word_maps(const at::Tensor& token_maps, const std::vector<int>& word_of_token,
                     int n_words, int64_t size);

}  // namespace lavender::dm
