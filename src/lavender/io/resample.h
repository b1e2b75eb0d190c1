// Image resizing that reproduces Pillow's `Image.resize` on 8-bit images bit for bit (and, on
// request, torchvision's antialiased uint8 resize, which follows the same algorithm with other
// rounding), because the Hugging Face image processors (CLIP, mllama) resize through one of them
// and a model sees the exact bytes.
//
// The algorithm (the whole image is the source box):
//  - separable convolution: a horizontal pass into a temporary image holding only the source rows
//    the vertical pass will read, then a vertical pass; a pass whose size does not change is
//    skipped;
//  - for an output sample xx the filter is centred at (xx + 0.5) * in/out in source coordinates;
//    when downscaling, the filter is stretched by in/out (antialiasing), so its support grows;
//  - the taps are normalised to sum 1 in double, then rounded to fixed point (half away from
//    zero), accumulated in integers starting from one half, and each pass rounds and clamps to
//    0..255 before the next.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "lavender/io/image.h"

namespace lavender::io {

// Whose integer arithmetic to reproduce. Both libraries compute the same double-precision taps
// (same centres, supports, antialiasing and normalisation) and run the same two passes; they
// differ in how the taps are rounded to integers:
//  - pillow: PIL's Image.resize (transformers' PIL image processors, the 4.x default): 22
//    fractional bits;
//  - torchvision: torch's uint8 antialiased interpolation behind torchvision's resize (the
//    transformers 5 default image processors): int16 taps with as many fractional bits as the
//    largest tap of the pass allows. Offers only bilinear and bicubic.
// Results differ by one level in a few pixels (0.4% of a 451x300 -> 505x336 bicubic upscale).
enum class ImageLibrary { pillow, torchvision };
const char* library_name(ImageLibrary library);

// Pillow's Image.Resampling numbering, which preprocessor_config.json's "resample" stores.
// NEAREST (0) goes through a different code path in Pillow and is not offered.
enum class Resample : int { lanczos = 1, bilinear = 2, bicubic = 3, box = 4, hamming = 5 };

const char* resample_name(Resample filter);
// The filter for a PIL resample code, nullopt for NEAREST (0) and unknown codes.
std::optional<Resample> resample_from_pil(int64_t code);

// One pass's precomputed taps: for output sample i, the source range [first[i], first[i] +
// count[i]) and its fixed-point weights (`bits` fractional bits) at weights[i * stride ...].
struct ResampleTaps {
  std::vector<int> first;
  std::vector<int> count;
  std::vector<int32_t> weights;
  int stride = 0;
  int bits = 0;
};
// The taps `library` uses to resample `in_size` samples to `out_size` (both >= 1).
ResampleTaps resample_taps(int in_size, int out_size, Resample filter,
                           ImageLibrary library = ImageLibrary::pillow);

// Pillow's fixed-point precision: weights carry this many fractional bits.
constexpr int kPillowResampleBits = 22;

// `image` (1 or 3 channels) resized to width x height. Throws lavender::Error when a size is not
// positive, the result would exceed kMaxImagePixels, or `library` lacks the filter.
Image resize(const Image& image, int width, int height, Resample filter,
             ImageLibrary library = ImageLibrary::pillow);

}  // namespace lavender::io
