#include <gtest/gtest.h>

#include <fstream>

#include "lavender/io/image.h"
#include "lavender/io/json_file.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::io {
namespace {

Image gradient(int w, int h, int channels) {
  Image im{w, h, channels, std::vector<uint8_t>(static_cast<size_t>(w) * h * channels)};
  for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = static_cast<uint8_t>(i * 7 % 256);
  return im;
}

Image decode(const std::string& bytes, const std::string& name = "mem") {
  return decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), name);
}

TEST(Image, ReadsTheFixturePng) {
  Image im = read_image(test::fixture_dir("preprocess") + "/input.png");
  EXPECT_EQ(im.width, 451);
  EXPECT_EQ(im.height, 300);
  EXPECT_EQ(im.channels, 3);
  EXPECT_EQ(im.pixels.size(), 451u * 300u * 3u);
}

TEST(Image, PngRoundTripIsLossless) {
  for (int channels : {1, 3}) {
    Image im = gradient(17, 9, channels);
    Image back = decode(encode_png(im));
    ASSERT_EQ(back.channels, 3);  // decoding always gives RGB
    for (size_t i = 0; i < static_cast<size_t>(17 * 9); ++i)
      for (int c = 0; c < 3; ++c)
        ASSERT_EQ(back.pixels[3 * i + c], im.pixels[channels == 3 ? 3 * i + c : i]) << i;
  }
}

TEST(Image, JpegRoundTripIsClose) {
  Image im{32, 32, 3, std::vector<uint8_t>(32 * 32 * 3, 0)};
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) im.row(y)[3 * x] = static_cast<uint8_t>(x * 8);
  Image back = decode(encode_jpeg(im, 95));
  double err = 0;
  for (size_t i = 0; i < im.pixels.size(); ++i) err += std::abs(back.pixels[i] - im.pixels[i]);
  EXPECT_LT(err / im.pixels.size(), 3.0);
}

TEST(Image, GreyJpegMapsDecodeToOneChannelExactly) {
  // The authors' attention maps: 8-bit grey JPEGs. A flat map survives JPEG exactly.
  Image map{32, 32, 1, std::vector<uint8_t>(32 * 32, 200)};
  std::string bytes = encode_jpeg(map, 95);
  Image grey = decode_grey(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "m");
  EXPECT_EQ(grey.channels, 1);
  EXPECT_EQ(grey.pixels[0], 200);
  EXPECT_EQ(grey.pixels[32 * 32 - 1], 200);
}

TEST(Image, BadInputsNameTheSource) {
  auto expect_error = [](const std::string& bytes, const char* part) {
    try {
      decode(bytes, "pic.png");
      FAIL() << "no error for " << part;
    } catch (const Error& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find("pic.png"), std::string::npos) << msg;
      EXPECT_NE(msg.find(part), std::string::npos) << msg;
    }
  };
  expect_error("", "not a PNG or JPEG");
  expect_error("GIF89a....", "not a PNG or JPEG");
  std::string png = encode_png(gradient(20, 20, 3));
  expect_error(png.substr(0, png.size() / 2), "invalid PNG");
  std::string corrupt = png;
  corrupt[40] ^= 0x55;  // inside IHDR/IDAT: CRC mismatch
  expect_error(corrupt, "invalid PNG");
  std::string jpg = encode_jpeg(gradient(20, 20, 3));
  expect_error(jpg.substr(0, 20), "invalid JPEG");
  EXPECT_THROW(read_image("/no/such/image.png"), Error);
}

TEST(Image, EncoderRejectsInconsistentImages) {
  Image bad{4, 4, 3, std::vector<uint8_t>(10)};
  EXPECT_THROW(encode_png(bad), Error);
  EXPECT_THROW(encode_jpeg(gradient(4, 4, 3), 0), Error);
  test::TempDir dir;
  write_png(dir.file("a.png"), gradient(5, 3, 3));
  EXPECT_EQ(read_image(dir.file("a.png")).width, 5);
}

}  // namespace
}  // namespace lavender::io
