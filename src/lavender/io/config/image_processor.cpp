#include "lavender/io/config/image_processor.h"

#include <nlohmann/json.hpp>

#include "lavender/io/config/json_fields.h"
#include "lavender/io/json_file.h"

namespace lavender::io::config {
namespace {

using nlohmann::json;

int64_t edge(const json& value, const Fields& f, const std::string& path) {
  return to_integer(value, f.source(), path, 1, kMaxImageEdge);
}

// "size"/"crop_size" as {"height", "width"}, or a bare integer for a square (transformers'
// get_size_dict with default_to_square). Returns false when neither form is present.
bool read_height_width(const Fields& f, const std::string& key, int64_t* height, int64_t* width) {
  const json* v = f.find(key);
  if (v == nullptr) return false;
  if (v->is_number()) {
    *height = *width = edge(*v, f, f.path(key));
    return true;
  }
  const Fields size = f.child(key);  // fails unless an object
  const json* h = size.find("height");
  const json* w = size.find("width");
  if (h == nullptr || w == nullptr) return false;
  *height = edge(*h, f, size.path("height"));
  *width = edge(*w, f, size.path("width"));
  return true;
}

Resample read_resample(const Fields& f, Resample def) {
  const json* v = f.find("resample");
  if (v == nullptr) return def;
  const int64_t code = to_integer(*v, f.source(), f.path("resample"), 0, 5);
  const std::optional<Resample> filter = resample_from_pil(code);
  if (!filter) f.fail("resample", "value 0 (NEAREST) is not supported (supported: 1..5)");
  return *filter;
}

// Three numbers, or one number for every channel.
ChannelValues read_channels(const Fields& f, const std::string& key, const ChannelValues& def) {
  const json* v = f.find(key);
  if (v == nullptr) return def;
  if (v->is_number()) {
    const double x = to_number(*v, f.source(), f.path(key));
    return {x, x, x};
  }
  const std::optional<std::vector<double>> values = f.optional_numbers(key);
  if (values->size() != 3)
    f.fail(key, "expected 3 values (one per RGB channel), got " + std::to_string(values->size()));
  return {(*values)[0], (*values)[1], (*values)[2]};
}

void read_rescale_normalize(const Fields& f, bool* do_rescale, double* rescale_factor,
                            bool* do_normalize, ChannelValues* mean, ChannelValues* std_dev) {
  *do_rescale = f.boolean("do_rescale", *do_rescale);
  *rescale_factor = f.number("rescale_factor", *rescale_factor);
  if (!(*rescale_factor > 0.0))
    f.fail("rescale_factor", "must be positive, got " + std::to_string(*rescale_factor));
  *do_normalize = f.boolean("do_normalize", *do_normalize);
  *mean = read_channels(f, "image_mean", *mean);
  *std_dev = read_channels(f, "image_std", *std_dev);
  for (double s : *std_dev)
    if (s == 0.0) f.fail("image_std", "a standard deviation of 0 divides by zero");
}

}  // namespace

ClipImageProcessorConfig parse_clip_image_processor_config(const json& j,
                                                           const std::string& source) {
  const Fields f(j, source);
  ClipImageProcessorConfig c;
  c.do_convert_rgb = f.boolean("do_convert_rgb", c.do_convert_rgb);
  c.do_resize = f.boolean("do_resize", c.do_resize);
  if (const json* size = f.find("size")) {
    if (size->is_number()) {
      c.shortest_edge = edge(*size, f, f.path("size"));
    } else {
      const Fields s = f.child("size");
      if (const json* shortest = s.find("shortest_edge")) {
        c.shortest_edge = edge(*shortest, f, s.path("shortest_edge"));
      } else if (read_height_width(f, "size", &c.resize_height, &c.resize_width)) {
        c.shortest_edge = 0;
      } else {
        f.fail("size", "expected 'shortest_edge' or both 'height' and 'width'");
      }
    }
  }
  c.resample = read_resample(f, c.resample);
  c.do_center_crop = f.boolean("do_center_crop", c.do_center_crop);
  if (f.has("crop_size") && !read_height_width(f, "crop_size", &c.crop_height, &c.crop_width))
    f.fail("crop_size", "expected both 'height' and 'width'");
  read_rescale_normalize(f, &c.do_rescale, &c.rescale_factor, &c.do_normalize, &c.image_mean,
                         &c.image_std);
  return c;
}

MllamaImageProcessorConfig parse_mllama_image_processor_config(const json& j,
                                                               const std::string& source) {
  const Fields f(j, source);
  MllamaImageProcessorConfig c;
  c.do_convert_rgb = f.boolean("do_convert_rgb", c.do_convert_rgb);
  if (!f.boolean("do_resize", true))
    f.fail("do_resize", "false is not supported (mllama always fits the image to its tiles)");
  if (!f.boolean("do_pad", true))
    f.fail("do_pad", "false is not supported (mllama always pads to whole tiles)");
  int64_t height = c.tile_size, width = c.tile_size;
  if (f.has("size") && !read_height_width(f, "size", &height, &width))
    f.fail("size", "expected both 'height' and 'width'");
  if (height != width)
    f.fail("size", "tiles must be square, got height " + std::to_string(height) + " and width " +
                       std::to_string(width));
  c.tile_size = height;
  c.resample = read_resample(f, c.resample);
  c.max_image_tiles = f.integer("max_image_tiles", c.max_image_tiles, 1, kMaxImageTiles);
  read_rescale_normalize(f, &c.do_rescale, &c.rescale_factor, &c.do_normalize, &c.image_mean,
                         &c.image_std);
  return c;
}

ClipImageProcessorConfig load_clip_image_processor_config(const std::string& path) {
  return parse_clip_image_processor_config(read_json_file(path), path);
}

MllamaImageProcessorConfig load_mllama_image_processor_config(const std::string& path) {
  return parse_mllama_image_processor_config(read_json_file(path), path);
}

}  // namespace lavender::io::config
