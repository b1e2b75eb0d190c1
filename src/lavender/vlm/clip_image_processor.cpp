#include "lavender/vlm/clip_image_processor.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "lavender/io/resample.h"
#include "lavender/util/error.h"
#include "lavender/vlm/pixel_values.h"

namespace lavender::vlm {
namespace {

// Python's // (rounds toward negative infinity).
int floor_div2(int x) {
  return x >= 0 ? x / 2 : -((-x + 1) / 2);
}

int checked_edge(int64_t edge, const char* what) {
  if (edge < 1 || edge > io::kMaxImagePixels)
    throw Error(std::string("CLIP image processor: ") + what + " " + std::to_string(edge) +
                " is out of range");
  return static_cast<int>(edge);
}

}  // namespace

std::pair<int, int> shortest_edge_size(int height, int width, int64_t shortest_edge) {
  if (height < 1 || width < 1 || shortest_edge < 1)
    throw Error("shortest_edge_size: sizes must be positive");
  const bool portrait = width <= height;
  const int64_t short_side = portrait ? width : height;
  const int64_t long_side = portrait ? height : width;
  // Python: int(size * long / short) — an exact integer product, one correctly rounded
  // division, truncation. Doubles reproduce it while the product stays below 2^53.
  const double scaled = static_cast<double>(shortest_edge * long_side) / short_side;
  const int new_long = checked_edge(static_cast<int64_t>(scaled), "resized long side");
  const int new_short = checked_edge(shortest_edge, "shortest_edge");
  return portrait ? std::make_pair(new_long, new_short) : std::make_pair(new_short, new_long);
}

io::Image center_crop(const io::Image& image, int crop_height, int crop_width,
                      io::ImageLibrary library) {
  if (crop_height < 1 || crop_width < 1) throw Error("center_crop: crop size must be positive");
  const int ch = image.channels;
  // Output pixel (y, x) is source pixel (y + top, x + left). The PIL backend pads a too-small
  // axis by ceil(diff / 2) before the image and then crops from floor((size - crop) / 2) + pad,
  // which comes to the source offset floor((size - crop) / 2) whether padded or not. The
  // torchvision backend pads floor(diff / 2) before, so its offset is -floor(diff / 2).
  auto offset = [library](int size, int crop) {
    if (size < crop && library == io::ImageLibrary::torchvision) return -((crop - size) / 2);
    return floor_div2(size - crop);
  };
  const int top = offset(image.height, crop_height);
  const int left = offset(image.width, crop_width);
  io::Image out{crop_width, crop_height, ch,
                std::vector<uint8_t>(static_cast<size_t>(crop_width) * crop_height * ch, 0)};
  const int x0 = std::max(0, -left);
  const int x1 = std::min(crop_width, image.width - left);
  if (x1 <= x0) return out;
  for (int y = 0; y < crop_height; ++y) {
    const int sy = y + top;
    if (sy < 0 || sy >= image.height) continue;
    std::copy_n(image.row(sy) + static_cast<size_t>(x0 + left) * ch,
                static_cast<size_t>(x1 - x0) * ch, out.row(y) + static_cast<size_t>(x0) * ch);
  }
  return out;
}

ClipImageProcessor::ClipImageProcessor(io::config::ClipImageProcessorConfig config)
    : config_(std::move(config)) {}

ClipImageProcessor ClipImageProcessor::load(const std::string& path) {
  return ClipImageProcessor(io::config::load_clip_image_processor_config(path));
}

io::Image ClipImageProcessor::resize_and_crop(const io::Image& image) const {
  io::Image out = image;
  if (config_.do_resize) {
    const auto [height, width] =
        config_.shortest_edge > 0
            ? shortest_edge_size(image.height, image.width, config_.shortest_edge)
            : std::make_pair(checked_edge(config_.resize_height, "size.height"),
                             checked_edge(config_.resize_width, "size.width"));
    out = io::resize(image, width, height, config_.resample, config_.library);
  }
  if (config_.do_center_crop)
    out = center_crop(out, checked_edge(config_.crop_height, "crop_size.height"),
                      checked_edge(config_.crop_width, "crop_size.width"), config_.library);
  return out;
}

at::Tensor ClipImageProcessor::preprocess(const io::Image& image) const {
  const PixelNormalization n{config_.do_rescale, config_.rescale_factor, config_.do_normalize,
                             config_.image_mean, config_.image_std};
  return pixel_values(resize_and_crop(image), n);
}

at::Tensor ClipImageProcessor::preprocess(const std::vector<io::Image>& images) const {
  if (images.empty()) throw Error("CLIP image processor: no images to preprocess");
  std::vector<at::Tensor> each;
  each.reserve(images.size());
  for (const io::Image& image : images) {
    each.push_back(preprocess(image));
    if (each.back().sizes() != each.front().sizes())
      throw Error("CLIP image processor: image " + std::to_string(each.size() - 1) +
                  " preprocesses to " + std::to_string(each.back().size(1)) + "x" +
                  std::to_string(each.back().size(2)) + ", image 0 to " +
                  std::to_string(each.front().size(1)) + "x" +
                  std::to_string(each.front().size(2)) +
                  " (without a centre crop the batch cannot be stacked)");
  }
  return at::stack(each);
}

}  // namespace lavender::vlm
