// 8-bit RGB pixels to the float tensor a vision tower reads: rescale (×rescale_factor), then
// normalise per channel ((x − mean) / std), channels first. Shared by the image processors.
#pragma once

#include <ATen/core/Tensor.h>

#include "lavender/io/config/image_processor.h"
#include "lavender/io/image.h"

namespace lavender::vlm {

struct PixelNormalization {
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;
  bool do_normalize = true;
  io::config::ChannelValues mean = {0.0, 0.0, 0.0};
  io::config::ChannelValues std = {1.0, 1.0, 1.0};
};

// The float value byte `value` of channel `channel` becomes. Computed in float32 the way
// transformers' numpy path does: (float32(value · factor) − float32(mean)) / float32(std).
float normalized_pixel(const PixelNormalization& n, int channel, uint8_t value);

// A 3-channel image as a float32 tensor [3, height, width].
at::Tensor pixel_values(const io::Image& image, const PixelNormalization& n);

}  // namespace lavender::vlm
