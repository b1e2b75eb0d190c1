// Decoding and encoding images (PNG, JPEG) into 8-bit RGB pixels, as PIL's `convert("RGB")`
// would: palettes and grey expanded, alpha dropped (not composited), 16-bit reduced to 8.
// Inputs are untrusted: every failure is a lavender::Error naming the source, never a crash
// (the decoders are fuzzed), and absurd dimensions are refused before any allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lavender::io {

struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;             // 3 (RGB) or 1 (grey, only from decode_grey / encode input)
  std::vector<uint8_t> pixels;  // row-major, channels interleaved
  uint8_t* row(int y) { return pixels.data() + static_cast<size_t>(y) * width * channels; }
  const uint8_t* row(int y) const {
    return pixels.data() + static_cast<size_t>(y) * width * channels;
  }
};

// Largest image accepted (pixels): guards memory against a forged header.
constexpr int64_t kMaxImagePixels = int64_t{1} << 28;

// Decodes PNG or JPEG (chosen by the magic bytes) to RGB.
Image decode_image(const uint8_t* data, size_t size, const std::string& source);
Image read_image(const std::string& path);
// The same to one grey channel, with PIL's RGB → L weights (attention maps stored as JPEGs).
Image decode_grey(const uint8_t* data, size_t size, const std::string& source);
Image read_grey_image(const std::string& path);

// 8-bit PNG of a 1- or 3-channel image, written atomically.
std::string encode_png(const Image& image);
void write_png(const std::string& path, const Image& image);

// 8-bit JPEG (quality 1..100) of a 1- or 3-channel image, written atomically.
std::string encode_jpeg(const Image& image, int quality = 95);
void write_jpeg(const std::string& path, const Image& image, int quality = 95);

}  // namespace lavender::io
