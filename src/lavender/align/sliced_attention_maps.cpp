#include "lavender/align/sliced_attention_maps.h"

#include <torch/torch.h>

#include "lavender/align/attention_maps.h"
#include "lavender/align/map_ops.h"
#include "lavender/util/error.h"

namespace lavender::align {
namespace {

// [..., gh, gw] → [..., S, S] (bilinear, as every student's grid is resized).
at::Tensor resized_view(const at::Tensor& grid, int64_t size) {
  std::vector<int64_t> lead(grid.sizes().begin(), grid.sizes().end() - 2);
  at::Tensor maps = resize_maps(grid.reshape({-1, 1, grid.size(-2), grid.size(-1)}), size, size);
  lead.insert(lead.end(), {size, size});
  return maps.reshape(lead);
}

void check_sliced_image(const at::Tensor& block, const SlicedImage& image,
                        const std::vector<at::Tensor>& query_to_patch, LatentMaps maps) {
  const int64_t pictures = static_cast<int64_t>(image.patch_grids.size());
  const int64_t slices = image.grid_cols * image.grid_rows;
  if (block.dim() != 3 || pictures == 0 || block.size(2) % pictures != 0)
    throw Error("sliced maps: block must be [heads, rows, pictures · queries] for " +
                std::to_string(pictures) + " pictures");
  if (pictures != 1 + slices)
    throw Error("sliced maps: " + std::to_string(pictures) + " pictures for a source and a " +
                std::to_string(image.grid_cols) + "x" + std::to_string(image.grid_rows) +
                " grid of slices");
  for (int64_t k = 2; k < pictures; ++k)
    if (image.patch_grids[k] != image.patch_grids[1])
      throw Error("sliced maps: slices of different sizes cannot share a grid");
  if (maps == LatentMaps::composed) {
    if (static_cast<int64_t>(query_to_patch.size()) != pictures)
      throw Error("sliced maps: need one query→patch attention per picture");
    for (int64_t k = 0; k < pictures; ++k) {
      const auto [h, w] = image.patch_grids[k];
      if (query_to_patch[k].dim() != 2 || query_to_patch[k].size(1) != h * w)
        throw Error("sliced maps: picture " + std::to_string(k) + " has " + std::to_string(h) +
                    "x" + std::to_string(w) +
                    " patches but its query→patch attention is not "
                    "[queries, " +
                    std::to_string(h * w) + "]");
    }
  }
}

}  // namespace

SlicedViews parse_sliced_views(const std::string& name) {
  if (name == "both") return SlicedViews::both;
  if (name == "source") return SlicedViews::source;
  if (name == "slices") return SlicedViews::slices;
  throw Error("unknown sliced view choice \"" + name + "\" (both, source, slices)");
}

const char* sliced_views_name(SlicedViews views) {
  switch (views) {
    case SlicedViews::both:
      return "both";
    case SlicedViews::source:
      return "source";
    case SlicedViews::slices:
      return "slices";
  }
  return "?";
}

at::Tensor sliced_image_maps(const at::Tensor& block, const SlicedImage& image,
                             const std::vector<at::Tensor>& query_to_patch, LatentMaps maps,
                             int64_t size, SlicedViews views) {
  check_sliced_image(block, image, query_to_patch, maps);
  const int64_t pictures = static_cast<int64_t>(image.patch_grids.size());
  const int64_t queries = block.size(2) / pictures;
  // Picture k's grid [heads, rows, gh, gw]: the attention that went through each cell.
  auto picture_grid = [&](int64_t k) {
    at::Tensor tokens = block.narrow(2, k * queries, queries).to(torch::kFloat);
    if (maps == LatentMaps::square) return to_square(tokens);
    const auto [h, w] = image.patch_grids[static_cast<size_t>(k)];
    at::Tensor patches = compose_through_queries(tokens, query_to_patch[static_cast<size_t>(k)]);
    return patches.reshape({block.size(0), block.size(1), h, w});
  };
  // Each view as attention density (see the header), summed over the chosen views.
  at::Tensor density;
  int64_t cells = 0;
  auto add_view = [&](const at::Tensor& grid) {
    const int64_t view_cells = grid.size(-2) * grid.size(-1);
    at::Tensor d = resized_view(grid, size) * static_cast<double>(view_cells);
    density = density.defined() ? density + d : d;
    cells += view_cells;
  };
  const bool sliced = pictures > 1;
  if (views != SlicedViews::slices || !sliced) add_view(picture_grid(0));
  if (views != SlicedViews::source && sliced) {
    std::vector<at::Tensor> slices;
    for (int64_t k = 1; k < pictures; ++k) slices.push_back(picture_grid(k));
    add_view(tile_canvas(torch::stack(slices, 2), image.grid_rows, image.grid_cols));
  }
  return density / static_cast<double>(cells);
}

}  // namespace lavender::align
