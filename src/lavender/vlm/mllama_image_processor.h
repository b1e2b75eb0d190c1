// transformers' MllamaImageProcessor (Llama 3.2 Vision) on decoded RGB images: choose the tile
// grid whose canvas needs the least scaling, resize into it keeping the aspect ratio (Pillow's
// resampling), pad to the canvas with black, rescale, normalise and cut into square tiles.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lavender/io/config/image_processor.h"
#include "lavender/io/image.h"

namespace lavender::vlm {

// A tile grid as (rows, columns).
using TileGrid = std::pair<int64_t, int64_t>;

// Every grid of at most `max_image_tiles` tiles, in transformers' order (rows ascending, then
// columns); aspect-ratio id k (1-based) names entry k − 1, and 0 means "no image".
std::vector<TileGrid> mllama_aspect_ratios(int64_t max_image_tiles);

// transformers' get_optimal_tiled_canvas: among the grids' canvases (rows·tile × cols·tile),
// the scale that fits the image without distortion is min(canvas_h / h, canvas_w / w); take
// the smallest scale >= 1 if any (least upscaling), else the largest (least downscaling); among
// canvases with that very scale, the smallest area (first in list order on ties).
// Returns the canvas as (height, width).
std::pair<int64_t, int64_t> mllama_optimal_canvas(int64_t height, int64_t width,
                                                  int64_t max_image_tiles, int64_t tile_size);

// transformers' get_image_size_fit_to_canvas: the (height, width) the image is resized to:
// each side first clamped to [tile_size, canvas side], then the more constrained side fixes the
// scale and the other becomes floor(side · scale) (at least 1, at most its clamped size).
std::pair<int64_t, int64_t> mllama_fit_to_canvas(int64_t height, int64_t width,
                                                 int64_t canvas_height, int64_t canvas_width,
                                                 int64_t tile_size);

struct MllamaTilePlan {
  TileGrid grid;                // (rows, columns)
  int64_t aspect_ratio_id = 0;  // 1-based position of grid in mllama_aspect_ratios
  int64_t resized_height = 0;   // the image is resized to this, then padded to the canvas
  int64_t resized_width = 0;
  int64_t num_tiles() const { return grid.first * grid.second; }
};
MllamaTilePlan plan_mllama_tiles(int64_t height, int64_t width, int64_t max_image_tiles,
                                 int64_t tile_size);

// One image: pixel_values float32 [max_image_tiles, 3, tile, tile] (tiles row-major over the
// grid, then zero tiles), aspect_ratio_mask int64 [max_image_tiles] (1 for the used tiles).
struct MllamaImage {
  at::Tensor pixel_values;
  at::Tensor aspect_ratio_mask;
  int64_t aspect_ratio_id = 0;
  int64_t num_tiles = 0;
};

// A batch of samples with up to max_images images each, stacked as the model takes them:
// pixel_values float32 [batch, max_images, max_image_tiles, 3, tile, tile] (absent images and
// tiles are zeros), aspect_ratio_ids int64 [batch, max_images] (0 for absent images),
// aspect_ratio_mask int64 [batch, max_images, max_image_tiles] (transformers sets tile 0 even
// for absent images), num_tiles per sample and image.
struct MllamaImageBatch {
  at::Tensor pixel_values;
  at::Tensor aspect_ratio_ids;
  at::Tensor aspect_ratio_mask;
  std::vector<std::vector<int64_t>> num_tiles;
};

class MllamaImageProcessor {
 public:
  explicit MllamaImageProcessor(io::config::MllamaImageProcessorConfig config = {});
  // Reads preprocessor_config.json.
  static MllamaImageProcessor load(const std::string& path);
  const io::config::MllamaImageProcessorConfig& config() const { return config_; }

  MllamaTilePlan plan(const io::Image& image) const;
  // The resized image padded to the whole canvas, 8-bit (before rescale and normalisation).
  io::Image canvas(const io::Image& image, const MllamaTilePlan& plan) const;
  MllamaImage preprocess(const io::Image& image) const;
  // Throws lavender::Error when no sample has an image.
  MllamaImageBatch preprocess(const std::vector<std::vector<io::Image>>& samples) const;

 private:
  io::config::MllamaImageProcessorConfig config_;
};

}  // namespace lavender::vlm
