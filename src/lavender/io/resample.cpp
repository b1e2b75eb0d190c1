#include "lavender/io/resample.h"

#include <algorithm>
#include <cmath>

#include "lavender/util/error.h"

namespace lavender::io {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Pillow's filter kernels, each with its support (half-width in source samples at scale 1).
// The boundary conventions (which side of +-0.5 the box includes, where the taps stop) matter:
// they decide which source samples get weight at exact half-way positions.
double box_kernel(double x) {
  return x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
}

double bilinear_kernel(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

double hamming_kernel(double x) {
  x = std::fabs(x);
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x *= kPi;
  // Pillow writes the window's constants as floats; their float values are what it computes with.
  return std::sin(x) / x * (static_cast<double>(0.54f) + static_cast<double>(0.46f) * std::cos(x));
}

// Keys' cubic convolution with a = -0.5 (Pillow's BICUBIC).
double bicubic_kernel(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// The same cubic as torch evaluates it (the outer lobe factored differently, which can change
// the last bit of a tap).
double torch_bicubic_kernel(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a;
  return 0.0;
}

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= kPi;
  return std::sin(x) / x;
}

double lanczos_kernel(double x) {
  return -3.0 <= x && x < 3.0 ? sinc(x) * sinc(x / 3.0) : 0.0;
}

struct Kernel {
  double (*fn)(double);
  double support;
};

Kernel kernel_of(Resample filter, ImageLibrary library) {
  if (library == ImageLibrary::torchvision) {
    if (filter == Resample::bilinear) return {bilinear_kernel, 1.0};
    if (filter == Resample::bicubic) return {torch_bicubic_kernel, 2.0};
    throw Error(std::string("resample: torchvision has no antialiased ") + resample_name(filter) +
                " filter (only bilinear and bicubic)");
  }
  switch (filter) {
    case Resample::box:
      return {box_kernel, 0.5};
    case Resample::bilinear:
      return {bilinear_kernel, 1.0};
    case Resample::hamming:
      return {hamming_kernel, 1.0};
    case Resample::bicubic:
      return {bicubic_kernel, 2.0};
    case Resample::lanczos:
      return {lanczos_kernel, 3.0};
  }
  throw Error("resample: unknown filter");
}

// A fixed-point sum back to a byte: drop the fraction (the sum started at one half, so this
// rounds) and clamp, as Pillow's lookup table does.
inline uint8_t to_byte(int64_t sum, int bits) {
  const int64_t v = sum >> bits;
  return static_cast<uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v);
}

// One half in `bits` fractional bits (0 when there are none, as when every tap is zero).
inline int64_t half(int bits) {
  return bits > 0 ? int64_t{1} << (bits - 1) : 0;
}

// torch's rule: the most fractional bits (at most 22) for which twice the largest tap, rounded,
// still fits in int16, so that weights are int16 in its SIMD kernels.
int torch_fraction_bits(double max_weight) {
  int bits = 0;
  for (; bits < kPillowResampleBits; ++bits) {
    const auto next =
        static_cast<int64_t>(0.5 + max_weight * static_cast<double>(int64_t{1} << (bits + 1)));
    if (next >= (1 << 15)) break;
  }
  return bits;
}

// Horizontal pass over source rows [row0, row0 + rows): out is taps.first.size() wide.
Image horizontal_pass(const Image& in, int row0, int rows, const ResampleTaps& taps) {
  const int width = static_cast<int>(taps.first.size());
  const int ch = in.channels;
  Image out{width, rows, ch, std::vector<uint8_t>(static_cast<size_t>(width) * rows * ch)};
  for (int y = 0; y < rows; ++y) {
    const uint8_t* src = in.row(row0 + y);
    uint8_t* dst = out.row(y);
    for (int x = 0; x < width; ++x) {
      const int32_t* w = &taps.weights[static_cast<size_t>(x) * taps.stride];
      const uint8_t* s = src + static_cast<size_t>(taps.first[x]) * ch;
      if (ch == 3) {  // RGB, the common case: one walk over the taps for all three channels
        int64_t r = half(taps.bits), g = r, b = r;
        for (int k = 0; k < taps.count[x]; ++k) {
          r += int64_t{s[3 * k]} * w[k];
          g += int64_t{s[3 * k + 1]} * w[k];
          b += int64_t{s[3 * k + 2]} * w[k];
        }
        dst[3 * x] = to_byte(r, taps.bits);
        dst[3 * x + 1] = to_byte(g, taps.bits);
        dst[3 * x + 2] = to_byte(b, taps.bits);
        continue;
      }
      for (int c = 0; c < ch; ++c) {
        int64_t sum = half(taps.bits);
        for (int k = 0; k < taps.count[x]; ++k) sum += int64_t{s[k * ch + c]} * w[k];
        dst[x * ch + c] = to_byte(sum, taps.bits);
      }
    }
  }
  return out;
}

// Vertical pass; taps.first is relative to `in`'s first row.
Image vertical_pass(const Image& in, const ResampleTaps& taps) {
  const int height = static_cast<int>(taps.first.size());
  const int ch = in.channels;
  const size_t row_len = static_cast<size_t>(in.width) * ch;
  Image out{in.width, height, ch, std::vector<uint8_t>(row_len * height)};
  std::vector<int64_t> sums(row_len);
  for (int y = 0; y < height; ++y) {
    std::fill(sums.begin(), sums.end(), half(taps.bits));
    const int32_t* w = &taps.weights[static_cast<size_t>(y) * taps.stride];
    // Row by row, so the inner loop walks memory contiguously; the sums are the same.
    for (int k = 0; k < taps.count[y]; ++k) {
      const uint8_t* src = in.row(taps.first[y] + k);
      const int64_t wk = w[k];
      for (size_t i = 0; i < row_len; ++i) sums[i] += int64_t{src[i]} * wk;
    }
    uint8_t* dst = out.row(y);
    for (size_t i = 0; i < row_len; ++i) dst[i] = to_byte(sums[i], taps.bits);
  }
  return out;
}

}  // namespace

const char* library_name(ImageLibrary library) {
  return library == ImageLibrary::pillow ? "pillow" : "torchvision";
}

const char* resample_name(Resample filter) {
  switch (filter) {
    case Resample::lanczos:
      return "lanczos";
    case Resample::bilinear:
      return "bilinear";
    case Resample::bicubic:
      return "bicubic";
    case Resample::box:
      return "box";
    case Resample::hamming:
      return "hamming";
  }
  return "?";
}

std::optional<Resample> resample_from_pil(int64_t code) {
  if (code >= 1 && code <= 5) return static_cast<Resample>(code);
  return std::nullopt;
}

ResampleTaps resample_taps(int in_size, int out_size, Resample filter, ImageLibrary library) {
  if (in_size < 1 || out_size < 1)
    throw Error("resample: sizes must be positive (" + std::to_string(in_size) + " -> " +
                std::to_string(out_size) + ")");
  const Kernel kernel = kernel_of(filter, library);
  // Pillow takes the source box as floats; (float)in_size - 0.0f is exact for any image size
  // kMaxImagePixels allows.
  const double scale = static_cast<double>(static_cast<float>(in_size)) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double inv_scale = 1.0 / filter_scale;
  const double support = kernel.support * filter_scale;
  const int max_taps = static_cast<int>(std::ceil(support)) * 2 + 1;

  ResampleTaps taps;
  taps.stride = max_taps;
  taps.first.resize(out_size);
  taps.count.resize(out_size);
  std::vector<double> normalised(static_cast<size_t>(out_size) * max_taps, 0.0);
  double max_weight = 0.0;
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    // Both ends rounded by adding one half and truncating (toward zero), as both libraries do.
    const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    const int xmax = std::min(static_cast<int>(center + support + 0.5), in_size);
    const int n = std::max(std::min(xmax - xmin, max_taps), 0);
    double* w = &normalised[static_cast<size_t>(xx) * max_taps];
    double total = 0.0;
    for (int k = 0; k < n; ++k) {
      w[k] = kernel.fn((k + xmin - center + 0.5) * inv_scale);
      total += w[k];
    }
    if (total != 0.0)
      for (int k = 0; k < n; ++k) w[k] /= total;
    for (int k = 0; k < n; ++k) max_weight = std::max(max_weight, w[k]);
    taps.first[xx] = xmin;
    taps.count[xx] = n;
  }
  taps.bits =
      library == ImageLibrary::pillow ? kPillowResampleBits : torch_fraction_bits(max_weight);
  const double one = static_cast<double>(int64_t{1} << taps.bits);
  taps.weights.resize(normalised.size());
  for (size_t i = 0; i < normalised.size(); ++i) {
    const double fixed = normalised[i] * one;
    // Rounded half away from zero by truncation after adding +-0.5.
    taps.weights[i] = static_cast<int32_t>(fixed < 0 ? fixed - 0.5 : fixed + 0.5);
  }
  return taps;
}

Image resize(const Image& image, int width, int height, Resample filter, ImageLibrary library) {
  if (image.width < 1 || image.height < 1 || (image.channels != 1 && image.channels != 3) ||
      image.pixels.size() != static_cast<size_t>(image.width) * image.height * image.channels)
    throw Error("resize: malformed source image (" + std::to_string(image.width) + "x" +
                std::to_string(image.height) + "x" + std::to_string(image.channels) + ")");
  if (width < 1 || height < 1 || int64_t{width} * height > kMaxImagePixels)
    throw Error("resize: target size " + std::to_string(width) + "x" + std::to_string(height) +
                " is empty or too large");
  const bool horizontal = width != image.width;
  const bool vertical = height != image.height;
  if (!horizontal && !vertical) return image;

  if (!vertical)
    return horizontal_pass(image, 0, image.height,
                           resample_taps(image.width, width, filter, library));

  ResampleTaps vtaps = resample_taps(image.height, height, filter, library);
  if (!horizontal) return vertical_pass(image, vtaps);
  // Only the source rows the vertical pass reads are resampled horizontally.
  const int row0 = vtaps.first.front();
  const int row1 = vtaps.first.back() + vtaps.count.back();
  for (int& first : vtaps.first) first -= row0;
  Image temp =
      horizontal_pass(image, row0, row1 - row0, resample_taps(image.width, width, filter, library));
  return vertical_pass(temp, vtaps);
}

}  // namespace lavender::io
