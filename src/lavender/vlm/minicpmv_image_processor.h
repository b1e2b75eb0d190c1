// MiniCPM-Llama3-V 2.5's image processing (the release's slice_image / reshape_by_patch and the
// MiniCPMVImageProcessor that later packaged them): a source image resized to about
// scale_resolution² pixels, plus — when the image holds more than that — a grid of up to
// max_slice_nums slices of the image resized so each slice is again about scale_resolution²;
// every side a multiple of the patch size, all resizes Pillow's bicubic. Each picture is
// normalised and laid out as one row of patches [3, p, h·w·p] (what the tower reads), with
// tgt_sizes (h, w) in patches, and the prompt gets one <image> placeholder per picture.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

#include "lavender/io/image.h"

namespace lavender::vlm {

struct MiniCpmVImageProcessorConfig {
  int64_t max_slice_nums = 9;
  int64_t scale_resolution = 448;
  int64_t patch_size = 14;
  int64_t image_feature_size = 96;  // <unk> tokens per picture (the model's query_num)
  std::vector<double> norm_mean = {0.5, 0.5, 0.5};
  std::vector<double> norm_std = {0.5, 0.5, 0.5};
  std::string im_start = "<image>", im_end = "</image>";
  std::string slice_start = "<slice>", slice_end = "</slice>";
  std::string unk = "<unk>";
};

MiniCpmVImageProcessorConfig parse_minicpmv_image_processor_config(const nlohmann::json& j,
                                                                   const std::string& source);
MiniCpmVImageProcessorConfig load_minicpmv_image_processor_config(const std::string& path);

// The release's size arithmetic, exposed for tests. Sizes are (width, height).
// max(round(length / multiple) · multiple, multiple), Python's round (half to even).
int64_t minicpmv_ensure_divide(double length, int64_t multiple);
std::pair<int64_t, int64_t> minicpmv_best_resize(double width, double height,
                                                 int64_t scale_resolution, int64_t patch_size,
                                                 bool allow_upscale);

struct MiniCpmVSlices {
  io::Image source;
  std::vector<io::Image> slices;         // row-major over the grid
  int64_t grid_cols = 0, grid_rows = 0;  // 0 × 0: not sliced
};
MiniCpmVSlices minicpmv_slice_image(const io::Image& image, const MiniCpmVImageProcessorConfig& c,
                                    bool never_split = false);

// [3, H, W] → [3, p, (H/p)(W/p)·p]: patch k (row-major) at columns k·p .. k·p + p − 1.
at::Tensor minicpmv_reshape_by_patch(const at::Tensor& image, int64_t patch_size);

struct MiniCpmVImageInputs {
  std::vector<at::Tensor> images;        // normalised pictures [3, H, W] (source, then slices)
  std::vector<at::Tensor> pixel_values;  // the same as [3, p, h·w·p]
  at::Tensor tgt_sizes;                  // [pictures, 2] (h, w) in patches
  std::string placeholder;               // the prompt text standing for the image
  int64_t grid_cols = 0, grid_rows = 0;  // the slices' grid; 0 × 0: the source picture only
  io::Image source;                      // the source picture (the whole image, resized)
};

class MiniCpmVImageProcessor {
 public:
  explicit MiniCpmVImageProcessor(MiniCpmVImageProcessorConfig c) : c_(std::move(c)) {}
  // One RGB image; `slice`: false uses the source picture only (slice_mode off).
  MiniCpmVImageInputs preprocess(const io::Image& image, bool slice = true) const;
  const MiniCpmVImageProcessorConfig& config() const { return c_; }

 private:
  MiniCpmVImageProcessorConfig c_;
};

}  // namespace lavender::vlm
