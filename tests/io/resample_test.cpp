#include <gtest/gtest.h>

#include <cmath>

#include "lavender/io/image.h"
#include "lavender/io/resample.h"
#include "lavender/util/error.h"

namespace lavender::io {
namespace {

Image constant(int w, int h, uint8_t value) {
  return Image{w, h, 3, std::vector<uint8_t>(static_cast<size_t>(w) * h * 3, value)};
}

// A one-row grey image.
Image row_of(std::vector<uint8_t> values) {
  const int w = static_cast<int>(values.size());
  return Image{w, 1, 1, std::move(values)};
}

Image noise(int w, int h, uint32_t seed) {
  Image im = constant(w, h, 0);
  for (auto& p : im.pixels) {
    seed = seed * 1664525u + 1013904223u;
    p = static_cast<uint8_t>(seed >> 24);
  }
  return im;
}

constexpr Resample kAll[] = {Resample::lanczos, Resample::bilinear, Resample::bicubic,
                             Resample::box, Resample::hamming};

TEST(Resample, SameSizeIsACopy) {
  const Image im = noise(13, 7, 1);
  for (Resample f : kAll) EXPECT_EQ(resize(im, 13, 7, f).pixels, im.pixels) << resample_name(f);
}

TEST(Resample, ConstantImagesStayConstantUpAndDown) {
  // Taps sum to one (up to fixed-point rounding far below half a level).
  const Image im = constant(40, 30, 173);
  for (Resample f : kAll)
    for (auto [w, h] : {std::pair{20, 15}, {13, 29}, {97, 61}, {1, 1}}) {
      const Image out = resize(im, w, h, f);
      ASSERT_EQ(out.width, w);
      ASSERT_EQ(out.height, h);
      for (uint8_t p : out.pixels) ASSERT_EQ(p, 173) << resample_name(f) << " " << w << "x" << h;
    }
}

TEST(Resample, BilinearHalvingTapsFollowPillowsRules) {
  // 4 -> 2: scale 2, so the triangle is stretched to support 2. Output 0 is centred at 1.0, taps
  // at source 0,1,2 with weights tri(-0.25), tri(0.25), tri(0.75) = 0.75, 0.75, 0.25, normalised
  // to 3/7, 3/7, 1/7; output 1 (centre 3.0) reads 1,2,3 with 1/7, 3/7, 3/7 (source 4 is past the
  // edge). In 22-bit fixed point 3/7 -> 1797559 and 1/7 -> 599186.
  const ResampleTaps taps = resample_taps(4, 2, Resample::bilinear);
  EXPECT_EQ(taps.bits, 22);
  EXPECT_EQ(taps.first, (std::vector<int>{0, 1}));
  EXPECT_EQ(taps.count, (std::vector<int>{3, 3}));
  EXPECT_EQ(taps.weights[0], 1797559);
  EXPECT_EQ(taps.weights[1], 1797559);
  EXPECT_EQ(taps.weights[2], 599186);
  EXPECT_EQ(taps.weights[taps.stride + 0], 599186);
  EXPECT_EQ(taps.weights[taps.stride + 2], 1797559);
  // 0·3/7 + 70·3/7 + 140·1/7 = 50 and 70/7 + 140·3/7 + 210·3/7 = 160.
  EXPECT_EQ(resize(row_of({0, 70, 140, 210}), 2, 1, Resample::bilinear).pixels,
            (std::vector<uint8_t>{50, 160}));
}

TEST(Resample, BoxHalvingAveragesPairs) {
  // Antialiasing: a 2x box reduction averages each pair; (0 + 255) / 2 rounds to 128.
  const Image out = resize(row_of({0, 255, 0, 255, 10, 20}), 3, 1, Resample::box);
  EXPECT_EQ(out.pixels, (std::vector<uint8_t>{128, 128, 15}));
}

TEST(Resample, BicubicAtScaleOneIsTheIdentityKernel) {
  // At scale 1 the cubic is sampled at integers: 1 at the centre, 0 elsewhere.
  const ResampleTaps taps = resample_taps(5, 5, Resample::bicubic);
  for (int i = 0; i < 5; ++i) {
    for (int k = 0; k < taps.count[i]; ++k) {
      const int source = taps.first[i] + k;
      EXPECT_EQ(taps.weights[static_cast<size_t>(i) * taps.stride + k], source == i ? 1 << 22 : 0);
    }
  }
}

TEST(Resample, BicubicUpscaleOvershootsAndClamps) {
  // Keys' cubic has negative lobes: doubling a step overshoots on both sides; the result is
  // clamped to 0..255, and each output stays within one level of the exact double computation.
  const Image step = row_of({0, 0, 255, 255});
  const Image out = resize(step, 8, 1, Resample::bicubic);
  ASSERT_EQ(out.width, 8);
  EXPECT_EQ(out.pixels.front(), 0);
  EXPECT_EQ(out.pixels.back(), 255);
  // Output 3 (centre 1.75) reads sources 0..3 (taps at distances 1.25, 0.25, 0.75, 1.75).
  auto cubic = [](double x) {
    x = std::fabs(x);
    return x < 1 ? (1.5 * x - 2.5) * x * x + 1 : x < 2 ? ((-0.5 * x + 2.5) * x - 4) * x + 2 : 0;
  };
  double exact = 0, total = 0;
  for (int s = 0; s < 4; ++s) {
    exact += step.pixels[s] * cubic(s + 0.5 - 1.75);
    total += cubic(s + 0.5 - 1.75);
  }
  EXPECT_NEAR(out.pixels[3], exact / total, 1.0);
}

TEST(Resample, PassesRoundToBytesInBetween) {
  // Horizontal first, then vertical, each rounded to bytes: the 2-D result equals resizing
  // rows, then columns, as two separate images.
  const Image im = noise(31, 17, 7);
  const Image direct = resize(im, 12, 9, Resample::bicubic);
  const Image rows = resize(im, 12, 17, Resample::bicubic);
  EXPECT_EQ(resize(rows, 12, 9, Resample::bicubic).pixels, direct.pixels);
}

TEST(Resample, TorchvisionRoundsTapsToInt16) {
  // torch keeps taps in int16: for 3/7 the most fractional bits with 2·w·2^bits < 2^15 is 16.
  const ResampleTaps taps = resample_taps(4, 2, Resample::bilinear, ImageLibrary::torchvision);
  EXPECT_EQ(taps.bits, 16);
  EXPECT_EQ(taps.weights[0], 28087);  // 3/7 · 65536 = 28086.86
  EXPECT_EQ(taps.weights[2], 9362);   // 1/7 · 65536 = 9362.29
  // Same geometry as Pillow's.
  const ResampleTaps pil = resample_taps(4, 2, Resample::bilinear);
  EXPECT_EQ(taps.first, pil.first);
  EXPECT_EQ(taps.count, pil.count);
  // The two libraries agree within one level.
  const Image im = noise(45, 30, 3);
  const Image a = resize(im, 50, 34, Resample::bicubic, ImageLibrary::pillow);
  const Image b = resize(im, 50, 34, Resample::bicubic, ImageLibrary::torchvision);
  for (size_t i = 0; i < a.pixels.size(); ++i) ASSERT_LE(std::abs(a.pixels[i] - b.pixels[i]), 1);
  EXPECT_THROW(resize(im, 20, 20, Resample::lanczos, ImageLibrary::torchvision), Error);
}

TEST(Resample, OddSizesWork) {
  const Image dot = constant(1, 1, 90);
  for (ImageLibrary lib : {ImageLibrary::pillow, ImageLibrary::torchvision})
    for (Resample f : {Resample::bilinear, Resample::bicubic}) {
      EXPECT_EQ(resize(dot, 5, 3, f, lib).pixels, constant(5, 3, 90).pixels);
      const Image sliver = noise(1000, 1, 5);
      const Image down = resize(sliver, 7, 3, f, lib);
      EXPECT_EQ(down.width, 7);
      EXPECT_EQ(down.height, 3);
      EXPECT_EQ(resize(sliver, 1, 1, f, lib).pixels.size(), 3u);
      EXPECT_EQ(resize(noise(1, 1000, 6), 1, 336, f, lib).height, 336);
    }
}

TEST(Resample, BadSizesAreErrors) {
  const Image im = constant(4, 4, 1);
  EXPECT_THROW(resize(im, 0, 4, Resample::bicubic), Error);
  EXPECT_THROW(resize(im, 4, -1, Resample::bicubic), Error);
  EXPECT_THROW(resize(im, 1 << 15, 1 << 15, Resample::bicubic), Error);
  EXPECT_FALSE(resample_from_pil(0).has_value());
  EXPECT_FALSE(resample_from_pil(6).has_value());
  EXPECT_EQ(resample_from_pil(3), Resample::bicubic);
}

}  // namespace
}  // namespace lavender::io
