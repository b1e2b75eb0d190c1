// Square maps for VLMs that see one image as several pictures, each resampled into a few tokens
// the text attends to (MiniCPM-V: the source picture — the whole image, resized — then a grid of
// slices of the image at a higher resolution, each through a one-layer resampler of `queries`
// learned queries). A text row's attention to one picture's tokens becomes a grid over that
// picture, read as OpenFlamingo's latents are (align/resampled_attention_maps.h):
//   composed  × the resampler's query→patch attention: the picture's h × w patch grid;
//   square    the tokens as a raster (to_square).
// The slices' grids are placed side by side as the image was cut (attention_maps' tile_canvas),
// which covers the whole image again, as the source picture does.
//
// The two views are added as attention per unit of image area: each cell of a grid holds the
// attention that went through it, so a view's map resized to S×S and multiplied by its number
// of cells is its attention density (up to the image's area); the map is the sum of the views'
// densities divided by the cells of both, i.e. attention per average cell. A word's map thus
// counts all the attention it paid to each region, through whichever view, and a head that
// looks at the image little keeps small values: head pooling (max) and head weighting compare
// heads by that. Without slices it is the source picture's map itself.
//
// SlicedViews picks the views that make the map (measured on the shapes world: README, "Measured
// here"): both (the default), the source picture alone, or the slices alone (an image too small
// to be sliced has only its source picture, which then stands for the slices).
#pragma once

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "lavender/align/resampled_attention_maps.h"

namespace lavender::align {

enum class SlicedViews { both, source, slices };
SlicedViews parse_sliced_views(const std::string& name);  // throws naming the choices
const char* sliced_views_name(SlicedViews views);

struct SlicedImage {
  // (h, w) in patches of each picture: the source first, then the slices row-major.
  std::vector<std::array<int64_t, 2>> patch_grids;
  int64_t grid_cols = 0, grid_rows = 0;  // the slices' grid; 0 × 0: the source picture only
};

// block [heads, rows, pictures · queries]: one image's text rows' attention to its pictures'
// tokens in prompt order (source, then slices row-major). query_to_patch: per picture
// [queries, h · w] (query_patch_attention of its resampler attention; read when `maps` is
// composed). → [heads, rows, S, S], differentiable.
at::Tensor sliced_image_maps(const at::Tensor& block, const SlicedImage& image,
                             const std::vector<at::Tensor>& query_to_patch, LatentMaps maps,
                             int64_t size = 32, SlicedViews views = SlicedViews::both);

}  // namespace lavender::align
