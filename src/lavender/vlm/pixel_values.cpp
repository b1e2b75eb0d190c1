#include "lavender/vlm/pixel_values.h"

#include <ATen/ATen.h>

#include <array>

#include "lavender/util/error.h"

namespace lavender::vlm {

float normalized_pixel(const PixelNormalization& n, int channel, uint8_t value) {
  // numpy rescales in float64 and stores float32; normalisation then runs in float32 with the
  // mean and std cast to float32.
  float x = n.do_rescale ? static_cast<float>(value * n.rescale_factor) : static_cast<float>(value);
  if (n.do_normalize)
    x = (x - static_cast<float>(n.mean[channel])) / static_cast<float>(n.std[channel]);
  return x;
}

at::Tensor pixel_values(const io::Image& image, const PixelNormalization& n) {
  if (image.channels != 3)
    throw Error("pixel_values: expected an RGB image, got " + std::to_string(image.channels) +
                " channel(s)");
  // Each output depends only on (channel, byte): one table of 3 × 256 values.
  std::array<std::array<float, 256>, 3> table;
  for (int c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v) table[c][v] = normalized_pixel(n, c, static_cast<uint8_t>(v));
  const int64_t plane = int64_t{image.width} * image.height;
  at::Tensor out = at::empty({3, image.height, image.width}, at::kFloat);
  float* dst = out.data_ptr<float>();
  const uint8_t* src = image.pixels.data();
  for (int64_t i = 0; i < plane; ++i)
    for (int c = 0; c < 3; ++c) dst[c * plane + i] = table[c][src[3 * i + c]];
  return out;
}

}  // namespace lavender::vlm
