#include "lavender/align/attention_maps.h"

#include <torch/torch.h>

#include <cmath>

#include "lavender/align/map_ops.h"
#include "lavender/util/error.h"

namespace lavender::align {
namespace {

namespace F = torch::nn::functional;

}  // namespace

int64_t square_side(int64_t n) {
  if (n <= 0) throw Error("attention maps: no image tokens");
  auto r = static_cast<int64_t>(std::sqrt(static_cast<double>(n)));
  while (r * r < n) ++r;
  while (r > 1 && (r - 1) * (r - 1) >= n) --r;
  return r;
}

at::Tensor to_square(const at::Tensor& tokens) {
  const int64_t n = tokens.size(-1), r = square_side(n);
  std::vector<int64_t> lead(tokens.sizes().begin(), tokens.sizes().end() - 1);
  at::Tensor x = tokens;
  if (r * r != n) {
    at::Tensor flat = tokens.reshape({-1, 1, n});
    x = F::interpolate(flat, F::InterpolateFuncOptions()
                                 .size(std::vector<int64_t>{r * r})
                                 .mode(torch::kLinear)
                                 .align_corners(false));
  }
  lead.push_back(r);
  lead.push_back(r);
  return x.reshape(lead);
}

at::Tensor self_attention_maps(const at::Tensor& block, int64_t size) {
  if (block.dim() != 4) throw Error("attention maps: block must be [B, heads, rows, image tokens]");
  const int64_t b = block.size(0), h = block.size(1), rows = block.size(2);
  at::Tensor grid = to_square(block.to(torch::kFloat));  // [B, H, rows, r, r]
  const int64_t r = grid.size(-1);
  at::Tensor maps = resize_maps(grid.reshape({b * h * rows, 1, r, r}), size, size);
  return maps.reshape({b, h, rows, size, size});
}

at::Tensor tile_canvas(const at::Tensor& tiles, int64_t grid_rows, int64_t grid_cols) {
  if (tiles.dim() < 3 || tiles.size(-3) != grid_rows * grid_cols)
    throw Error("attention maps: " + std::to_string(tiles.dim() < 3 ? 0 : tiles.size(-3)) +
                " tiles for a " + std::to_string(grid_rows) + "x" + std::to_string(grid_cols) +
                " grid");
  const int64_t th = tiles.size(-2), tw = tiles.size(-1);
  std::vector<int64_t> shape(tiles.sizes().begin(), tiles.sizes().end() - 3);
  std::vector<int64_t> grid = shape;
  grid.insert(grid.end(), {grid_rows, grid_cols, th, tw});
  shape.insert(shape.end(), {grid_rows * th, grid_cols * tw});
  // [..., gr, gc, th, tw] → [..., gr, th, gc, tw]: a canvas row runs through a row of tiles.
  return tiles.reshape(grid).transpose(-3, -2).reshape(shape);
}

at::Tensor tiled_cross_attention_maps(const at::Tensor& probs,
                                      const std::vector<std::array<int64_t, 2>>& grids,
                                      int64_t patches_per_tile, int64_t size) {
  if (probs.dim() != 4 || probs.size(3) % patches_per_tile != 0)
    throw Error("attention maps: cross-attention probabilities must be [B, heads, rows, tiles × " +
                std::to_string(patches_per_tile) + "]");
  const int64_t b = probs.size(0), h = probs.size(1), rows = probs.size(2);
  const int64_t tiles_max = probs.size(3) / patches_per_tile;
  if (static_cast<int64_t>(grids.size()) != b)
    throw Error("attention maps: need one tile grid per batch row");
  std::vector<at::Tensor> out;
  for (int64_t i = 0; i < b; ++i) {
    const auto [gr, gc] = grids[static_cast<size_t>(i)];
    if (gr < 1 || gc < 1 || gr * gc > tiles_max)
      throw Error("attention maps: a " + std::to_string(gr) + "x" + std::to_string(gc) +
                  " tile grid does not fit " + std::to_string(tiles_max) + " tiles");
    // [H, rows, tiles, r, r] for the real tiles, then the canvas [H·rows, 1, gr·r, gc·r].
    at::Tensor tiles = to_square(probs[i]
                                     .to(torch::kFloat)
                                     .reshape({h, rows, tiles_max, patches_per_tile})
                                     .narrow(2, 0, gr * gc));
    const int64_t r = tiles.size(-1);
    at::Tensor canvas = tile_canvas(tiles, gr, gc).reshape({h * rows, 1, gr * r, gc * r});
    out.push_back(resize_maps(canvas, size, size).reshape({h, rows, size, size}));
  }
  return torch::stack(out);
}

at::Tensor word_maps_from_tokens(const at::Tensor& maps, const std::vector<int>& word_of_token,
                                 int n_words) {
  const int64_t t = maps.size(-3);
  if (static_cast<int64_t>(word_of_token.size()) > t)
    throw Error("attention maps: word_of_token has " + std::to_string(word_of_token.size()) +
                " entries for " + std::to_string(t) + " rows");
  at::Tensor assign = torch::zeros({n_words, t}, torch::kFloat);
  std::vector<int> counts(static_cast<size_t>(std::max(n_words, 0)), 0);
  for (int w : word_of_token) {
    if (w < -1 || w >= n_words) throw Error("attention maps: word index out of range");
    if (w >= 0) ++counts[static_cast<size_t>(w)];
  }
  auto a = assign.accessor<float, 2>();
  for (size_t i = 0; i < word_of_token.size(); ++i)
    if (int w = word_of_token[i]; w >= 0)
      a[w][static_cast<int64_t>(i)] = 1.0f / static_cast<float>(counts[static_cast<size_t>(w)]);
  assign = assign.to(maps.device(), maps.scalar_type());
  // [..., T, S, S] → [..., S, S, T] · [T, n_words] → [..., n_words, S, S]
  at::Tensor moved = maps.movedim(-3, -1);
  return at::matmul(moved, assign.t()).movedim(-1, -3);
}

at::Tensor matched_teacher_maps(const at::Tensor& maps, const std::vector<WordMatch>& m,
                                int64_t size) {
  at::Tensor all = maps.to(torch::kFloat);
  if (all.size(-1) != size || all.size(-2) != size)
    all = torch::nn::functional::interpolate(all.unsqueeze(1),
                                             torch::nn::functional::InterpolateFuncOptions()
                                                 .size(std::vector<int64_t>{size, size})
                                                 .mode(torch::kBilinear)
                                                 .align_corners(false))
              .squeeze(1);
  std::vector<at::Tensor> out;
  for (const auto& match : m) {
    std::vector<int64_t> idx(match.teacher_words.begin(), match.teacher_words.end());
    for (int64_t i : idx)
      if (i < 0 || i >= all.size(0))
        throw Error("teacher maps: word index " + std::to_string(i) + " outside the stored " +
                    std::to_string(all.size(0)) + " maps");
    out.push_back(all.index_select(0, torch::tensor(idx, torch::kLong)).mean(0));
  }
  return torch::stack(out);
}

}  // namespace lavender::align
