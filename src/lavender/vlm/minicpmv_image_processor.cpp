#include "lavender/vlm/minicpmv_image_processor.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "lavender/io/config/json_fields.h"
#include "lavender/io/json_file.h"
#include "lavender/io/resample.h"
#include "lavender/util/error.h"
#include "lavender/vlm/pixel_values.h"

namespace lavender::vlm {
namespace {

io::Image crop_box(const io::Image& image, int left, int top, int width, int height) {
  io::Image out;
  out.width = width;
  out.height = height;
  out.channels = image.channels;
  out.pixels.resize(static_cast<size_t>(width) * height * image.channels);
  for (int y = 0; y < height; ++y)
    std::copy_n(image.row(top + y) + static_cast<size_t>(left) * image.channels,
                static_cast<size_t>(width) * image.channels, out.row(y));
  return out;
}

io::Image bicubic_resize(const io::Image& image, std::pair<int64_t, int64_t> size) {
  return io::resize(image, static_cast<int>(size.first), static_cast<int>(size.second),
                    io::Resample::bicubic);
}

std::string repeated(const std::string& s, int64_t n) {
  std::string out;
  for (int64_t i = 0; i < n; ++i) out += s;
  return out;
}

}  // namespace

MiniCpmVImageProcessorConfig parse_minicpmv_image_processor_config(const nlohmann::json& j,
                                                                   const std::string& source) {
  const io::config::Fields f(j, source);
  const MiniCpmVImageProcessorConfig d;
  MiniCpmVImageProcessorConfig c;
  if (const nlohmann::json* v = f.find("version")) {
    const bool ok = (v->is_number() && v->get<double>() == 2.5) ||
                    (v->is_string() && v->get<std::string>() == "2.5");
    if (!ok) f.fail("version", "only MiniCPM-Llama3-V 2.5 (2.5) is supported");
  }
  c.max_slice_nums = f.positive("max_slice_nums", d.max_slice_nums);
  c.scale_resolution = f.positive("scale_resolution", d.scale_resolution);
  c.patch_size = f.positive("patch_size", d.patch_size);
  c.image_feature_size = f.positive("image_feature_size", d.image_feature_size);
  for (const char* key : {"norm_mean", "norm_std"}) {
    auto values = f.optional_numbers(key);
    if (!values) continue;
    if (values->size() != 3) f.fail(key, "expected 3 values");
    if (std::string(key) == "norm_std")
      for (double s : *values)
        if (s == 0) f.fail(key, "a standard deviation of 0");
    (std::string(key) == "norm_mean" ? c.norm_mean : c.norm_std) = *values;
  }
  c.im_start = f.string("im_start", d.im_start);
  c.im_end = f.string("im_end", d.im_end);
  c.slice_start = f.string("slice_start", d.slice_start);
  c.slice_end = f.string("slice_end", d.slice_end);
  c.unk = f.string("unk", d.unk);
  return c;
}

MiniCpmVImageProcessorConfig load_minicpmv_image_processor_config(const std::string& path) {
  return parse_minicpmv_image_processor_config(io::read_json_file(path), path);
}

int64_t minicpmv_ensure_divide(double length, int64_t multiple) {
  // Python's round: to nearest, ties to even (nearbyint under the default rounding mode).
  const double q = std::nearbyint(length / static_cast<double>(multiple));
  return std::max(static_cast<int64_t>(q) * multiple, multiple);
}

std::pair<int64_t, int64_t> minicpmv_best_resize(double width, double height,
                                                 int64_t scale_resolution, int64_t patch_size,
                                                 bool allow_upscale) {
  const double s = static_cast<double>(scale_resolution);
  if (width * height > s * s || allow_upscale) {
    // Same area as scale_resolution², same aspect ratio, truncated as int() does.
    const double r = width / height;
    height = std::trunc(s / std::sqrt(r));
    width = std::trunc(height * r);
  }
  return {minicpmv_ensure_divide(width, patch_size), minicpmv_ensure_divide(height, patch_size)};
}

MiniCpmVSlices minicpmv_slice_image(const io::Image& image, const MiniCpmVImageProcessorConfig& c,
                                    bool never_split) {
  const double w = image.width, h = image.height;
  const double log_ratio = std::log(w / h);
  const double s = static_cast<double>(c.scale_resolution);
  const double ratio = w * h / (s * s);
  const int64_t multiple = std::min(static_cast<int64_t>(std::ceil(ratio)), c.max_slice_nums);
  MiniCpmVSlices out;
  if (multiple <= 1 || never_split) {
    out.source =
        bicubic_resize(image, minicpmv_best_resize(w, h, c.scale_resolution, c.patch_size, true));
    return out;
  }
  out.source =
      bicubic_resize(image, minicpmv_best_resize(w, h, c.scale_resolution, c.patch_size, false));
  // Grids of multiple - 1, multiple or multiple + 1 slices (not 1, at most max_slice_nums), as
  // (cols, rows); the one whose aspect ratio is closest in log terms wins, first on ties.
  int64_t best_cols = 1, best_rows = 1;
  double min_error = std::numeric_limits<double>::infinity();
  for (int64_t n : {multiple - 1, multiple, multiple + 1}) {
    if (n == 1 || n > c.max_slice_nums) continue;
    for (int64_t m = 1; m <= n; ++m) {
      if (n % m != 0) continue;
      const double error =
          std::abs(log_ratio - std::log(static_cast<double>(m) / static_cast<double>(n / m)));
      if (error < min_error) {
        best_cols = m;
        best_rows = n / m;
        min_error = error;
      }
    }
  }
  // The refined image: each grid cell resized to about scale_resolution² (upscaling allowed).
  const int64_t refine_w = minicpmv_ensure_divide(w, best_cols);
  const int64_t refine_h = minicpmv_ensure_divide(h, best_rows);
  const auto cell = minicpmv_best_resize(static_cast<double>(refine_w) / best_cols,
                                         static_cast<double>(refine_h) / best_rows,
                                         c.scale_resolution, c.patch_size, true);
  const io::Image refined =
      bicubic_resize(image, {cell.first * best_cols, cell.second * best_rows});
  const int cw = static_cast<int>(cell.first), ch = static_cast<int>(cell.second);
  for (int y = 0; y + ch <= refined.height; y += ch)
    for (int x = 0; x + cw <= refined.width; x += cw)
      out.slices.push_back(crop_box(refined, x, y, cw, ch));
  out.grid_cols = best_cols;
  out.grid_rows = best_rows;
  return out;
}

at::Tensor minicpmv_reshape_by_patch(const at::Tensor& image, int64_t p) {
  if (image.dim() != 3 || image.size(1) % p != 0 || image.size(2) % p != 0)
    throw Error("MiniCPM-V: an image [3, H, W] with H and W multiples of " + std::to_string(p) +
                " is needed to cut patches");
  const int64_t c = image.size(0), rows = image.size(1) / p, cols = image.size(2) / p;
  // [c, rows, p, cols, p] → [c, p(i), rows, cols, p(j)] → [c, p, rows·cols·p].
  return image.reshape({c, rows, p, cols, p}).permute({0, 2, 1, 3, 4}).reshape({c, p, -1});
}

MiniCpmVImageInputs MiniCpmVImageProcessor::preprocess(const io::Image& image, bool slice) const {
  MiniCpmVSlices slices = minicpmv_slice_image(image, c_, /*never_split=*/!slice);
  PixelNormalization norm;
  norm.mean = {c_.norm_mean[0], c_.norm_mean[1], c_.norm_mean[2]};
  norm.std = {c_.norm_std[0], c_.norm_std[1], c_.norm_std[2]};
  MiniCpmVImageInputs out;
  std::vector<int64_t> sizes;
  auto add = [&](const io::Image& picture) {
    at::Tensor t = pixel_values(picture, norm);
    out.images.push_back(t);
    out.pixel_values.push_back(minicpmv_reshape_by_patch(t, c_.patch_size));
    sizes.push_back(picture.height / c_.patch_size);
    sizes.push_back(picture.width / c_.patch_size);
  };
  add(slices.source);
  for (const auto& s : slices.slices) add(s);
  out.tgt_sizes = at::tensor(sizes, at::kLong).view({-1, 2});
  out.grid_cols = slices.grid_cols;
  out.grid_rows = slices.grid_rows;
  out.source = std::move(slices.source);

  const std::string one = c_.im_start + repeated(c_.unk, c_.image_feature_size) + c_.im_end;
  out.placeholder = one;
  if (!slices.slices.empty()) {
    std::string rows;
    for (int64_t r = 0; r < slices.grid_rows; ++r)
      rows += (r ? "\n" : "") + repeated(one, slices.grid_cols);
    out.placeholder += c_.slice_start + rows + c_.slice_end;
  }
  return out;
}

}  // namespace lavender::vlm
