// Turning a VLM's captured text→image attention into square maps (METHOD.md, "VLM side"), the
// student's counterpart of the teacher's per-word maps:
//   self-attention VLMs (LLaVA): the image columns of each text row are a raster of patches;
//   cross-attention VLMs (mllama): the columns are tiles × patches (class token first), and the
//   tiles sit on a canvas as the image's aspect-ratio tiling placed them.
// Both give [B, heads, rows, S, S]. Differentiable (training aligns these maps).
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <vector>

#include "lavender/align/word_match.h"

namespace lavender::align {

// The smallest r with r² ≥ n.
int64_t square_side(int64_t n);

// [..., n] → [..., r, r]: linear interpolation along the last axis to r² values (the identity
// when n is already a square), then reshaped row-major.
at::Tensor to_square(const at::Tensor& tokens);

// block [B, heads, rows, n_image] (image tokens in raster order) → [B, heads, rows, S, S]
// (bilinear resize of the r×r grid).
at::Tensor self_attention_maps(const at::Tensor& block, int64_t size = 32);

// tiles [..., rows · columns, th, tw] (row-major over the grid) → [..., rows · th, columns · tw]:
// the tiles side by side as the grid lays them out.
at::Tensor tile_canvas(const at::Tensor& tiles, int64_t grid_rows, int64_t grid_cols);

// probs [B, heads, rows, tiles_max · P]; `grids[b]` = {tile rows, tile columns} of sample b's
// image (tiles beyond rows·columns are padding and ignored). Each tile's P tokens become an r×r
// square, tiles are placed row-major on a (rows·r) × (columns·r) canvas, and the canvas is
// resized to S×S. → [B, heads, rows, S, S].
at::Tensor tiled_cross_attention_maps(const at::Tensor& probs,
                                      const std::vector<std::array<int64_t, 2>>& grids,
                                      int64_t patches_per_tile, int64_t size = 32);

// Per-word maps: mean over each word's tokens. maps [..., T, S, S]; word_of_token[t] is the word
// index of row t or -1 (not part of any word); rows beyond its end belong to no word. → [...,
// n_words, S, S]; a word without tokens gets zeros.
at::Tensor word_maps_from_tokens(const at::Tensor& maps, const std::vector<int>& word_of_token,
                                 int n_words);

// Teacher maps [words, S', S'] (any float dtype) → the matches' maps [matches, S, S] fp32: each
// match averages its teacher words' maps, resized bilinearly when S' ≠ S — how training (and the
// evaluation of a VLM's maps) reads the teacher.
at::Tensor matched_teacher_maps(const at::Tensor& maps, const std::vector<WordMatch>& matches,
                                int64_t size);

}  // namespace lavender::align
