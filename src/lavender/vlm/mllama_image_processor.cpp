#include "lavender/vlm/mllama_image_processor.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>

#include "lavender/io/resample.h"
#include "lavender/util/error.h"
#include "lavender/vlm/pixel_values.h"

namespace lavender::vlm {
namespace {

void check_sizes(int64_t height, int64_t width, int64_t max_image_tiles, int64_t tile_size) {
  if (height < 1 || width < 1 || max_image_tiles < 1 || tile_size < 1)
    throw Error("mllama tiling: image size " + std::to_string(width) + "x" +
                std::to_string(height) + ", max_image_tiles " + std::to_string(max_image_tiles) +
                " and tile size " + std::to_string(tile_size) + " must all be positive");
}

}  // namespace

std::vector<TileGrid> mllama_aspect_ratios(int64_t max_image_tiles) {
  std::vector<TileGrid> grids;
  for (int64_t rows = 1; rows <= max_image_tiles; ++rows)
    for (int64_t cols = 1; rows * cols <= max_image_tiles; ++cols) grids.emplace_back(rows, cols);
  return grids;
}

std::pair<int64_t, int64_t> mllama_optimal_canvas(int64_t height, int64_t width,
                                                  int64_t max_image_tiles, int64_t tile_size) {
  check_sizes(height, width, max_image_tiles, tile_size);
  const std::vector<TileGrid> grids = mllama_aspect_ratios(max_image_tiles);
  // numpy computes these as float64 true divisions; so do we, so that the equality test below
  // picks the same canvases.
  std::vector<double> scales;
  for (const auto& [rows, cols] : grids) {
    const double scale_h = static_cast<double>(rows * tile_size) / static_cast<double>(height);
    const double scale_w = static_cast<double>(cols * tile_size) / static_cast<double>(width);
    scales.push_back(scale_w > scale_h ? scale_h : scale_w);
  }
  bool any_up = false;
  double selected = 0.0;
  for (double s : scales)
    if (s >= 1.0) {
      selected = any_up ? std::min(selected, s) : s;
      any_up = true;
    }
  if (!any_up) selected = *std::max_element(scales.begin(), scales.end());
  size_t best = grids.size();
  for (size_t i = 0; i < grids.size(); ++i) {
    if (scales[i] != selected) continue;
    if (best == grids.size() ||
        grids[i].first * grids[i].second < grids[best].first * grids[best].second)
      best = i;
  }
  return {grids[best].first * tile_size, grids[best].second * tile_size};
}

std::pair<int64_t, int64_t> mllama_fit_to_canvas(int64_t height, int64_t width,
                                                 int64_t canvas_height, int64_t canvas_width,
                                                 int64_t tile_size) {
  check_sizes(height, width, 1, tile_size);
  const int64_t target_w = std::min(std::max(width, tile_size), canvas_width);
  const int64_t target_h = std::min(std::max(height, tile_size), canvas_height);
  const double scale_h = static_cast<double>(target_h) / static_cast<double>(height);
  const double scale_w = static_cast<double>(target_w) / static_cast<double>(width);
  // A side that floors to 0 (a 1000x1 sliver) is kept at 1 pixel, as transformers does.
  auto scaled = [](int64_t side, double scale, int64_t limit) {
    const auto s = static_cast<int64_t>(std::floor(static_cast<double>(side) * scale));
    return std::min(s == 0 ? int64_t{1} : s, limit);
  };
  if (scale_w < scale_h) return {scaled(height, scale_w, target_h), target_w};
  return {target_h, scaled(width, scale_h, target_w)};
}

MllamaTilePlan plan_mllama_tiles(int64_t height, int64_t width, int64_t max_image_tiles,
                                 int64_t tile_size) {
  const auto [canvas_h, canvas_w] =
      mllama_optimal_canvas(height, width, max_image_tiles, tile_size);
  MllamaTilePlan plan;
  plan.grid = {canvas_h / tile_size, canvas_w / tile_size};
  const std::vector<TileGrid> grids = mllama_aspect_ratios(max_image_tiles);
  plan.aspect_ratio_id = std::find(grids.begin(), grids.end(), plan.grid) - grids.begin() + 1;
  std::tie(plan.resized_height, plan.resized_width) =
      mllama_fit_to_canvas(height, width, canvas_h, canvas_w, tile_size);
  return plan;
}

MllamaImageProcessor::MllamaImageProcessor(io::config::MllamaImageProcessorConfig config)
    : config_(std::move(config)) {
  if (config_.tile_size < 1 || config_.tile_size > io::config::kMaxImageEdge ||
      config_.max_image_tiles < 1 || config_.max_image_tiles > io::config::kMaxImageTiles)
    throw Error("mllama image processor: tile size " + std::to_string(config_.tile_size) +
                " or max_image_tiles " + std::to_string(config_.max_image_tiles) + " out of range");
}

MllamaImageProcessor MllamaImageProcessor::load(const std::string& path) {
  return MllamaImageProcessor(io::config::load_mllama_image_processor_config(path));
}

MllamaTilePlan MllamaImageProcessor::plan(const io::Image& image) const {
  return plan_mllama_tiles(image.height, image.width, config_.max_image_tiles, config_.tile_size);
}

io::Image MllamaImageProcessor::canvas(const io::Image& image, const MllamaTilePlan& plan) const {
  const io::Image resized =
      io::resize(image, static_cast<int>(plan.resized_width), static_cast<int>(plan.resized_height),
                 config_.resample, config_.library);
  const int width = static_cast<int>(plan.grid.second * config_.tile_size);
  const int height = static_cast<int>(plan.grid.first * config_.tile_size);
  // Black padding below and to the right, as transformers' pad(constant 0) before rescaling.
  io::Image out{width, height, 3, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3, 0)};
  for (int y = 0; y < resized.height; ++y)
    std::copy_n(resized.row(y), static_cast<size_t>(resized.width) * 3, out.row(y));
  return out;
}

MllamaImage MllamaImageProcessor::preprocess(const io::Image& image) const {
  const MllamaTilePlan p = plan(image);
  const PixelNormalization n{config_.do_rescale, config_.rescale_factor, config_.do_normalize,
                             config_.image_mean, config_.image_std};
  const at::Tensor full = pixel_values(canvas(image, p), n);  // [3, rows·t, cols·t]
  const int64_t t = config_.tile_size;
  const auto [rows, cols] = p.grid;
  MllamaImage out;
  out.num_tiles = p.num_tiles();
  out.aspect_ratio_id = p.aspect_ratio_id;
  out.pixel_values = at::zeros({config_.max_image_tiles, 3, t, t}, at::kFloat);
  out.pixel_values.narrow(0, 0, out.num_tiles)
      .copy_(full.view({3, rows, t, cols, t})
                 .permute({1, 3, 0, 2, 4})
                 .reshape({rows * cols, 3, t, t}));
  out.aspect_ratio_mask = at::zeros({config_.max_image_tiles}, at::kLong);
  out.aspect_ratio_mask.narrow(0, 0, out.num_tiles).fill_(1);
  return out;
}

MllamaImageBatch MllamaImageProcessor::preprocess(
    const std::vector<std::vector<io::Image>>& samples) const {
  size_t max_images = 0;
  for (const auto& images : samples) max_images = std::max(max_images, images.size());
  if (max_images == 0) throw Error("mllama image processor: the batch holds no images");
  const int64_t batch = static_cast<int64_t>(samples.size());
  const int64_t m = static_cast<int64_t>(max_images);
  const int64_t t = config_.tile_size;
  MllamaImageBatch out;
  out.pixel_values = at::zeros({batch, m, config_.max_image_tiles, 3, t, t}, at::kFloat);
  out.aspect_ratio_ids = at::zeros({batch, m}, at::kLong);
  out.aspect_ratio_mask = at::zeros({batch, m, config_.max_image_tiles}, at::kLong);
  // transformers marks the first tile of every slot, image or not.
  out.aspect_ratio_mask.select(2, 0).fill_(1);
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<int64_t> tiles;
    for (size_t i = 0; i < samples[b].size(); ++i) {
      MllamaImage one = preprocess(samples[b][i]);
      const auto j = static_cast<int64_t>(i);
      out.pixel_values[b][j].copy_(one.pixel_values);
      out.aspect_ratio_ids[b][j] = one.aspect_ratio_id;
      out.aspect_ratio_mask[b][j].copy_(one.aspect_ratio_mask);
      tiles.push_back(one.num_tiles);
    }
    out.num_tiles.push_back(std::move(tiles));
  }
  return out;
}

}  // namespace lavender::vlm
