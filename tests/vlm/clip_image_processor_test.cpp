#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/config/config_test_util.h"
#include "lavender/io/config/image_processor.h"
#include "lavender/io/image.h"
#include "lavender/io/json_file.h"
#include "lavender/io/safetensors.h"
#include "lavender/util/error.h"
#include "lavender/vlm/clip_image_processor.h"
#include "test_paths.h"

namespace lavender::vlm {
namespace {

using io::config::ClipImageProcessorConfig;
using io::config::parse_clip_image_processor_config;
using test::expect_config_error;
using test::parse;

io::Image numbered(int w, int h) {
  io::Image im{w, h, 3, std::vector<uint8_t>(static_cast<size_t>(w) * h * 3)};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) im.row(y)[3 * x + c] = static_cast<uint8_t>(10 * y + x + 1);
  return im;
}

TEST(ClipImageProcessor, ShortestEdgeSizeTruncatesLikeTransformers) {
  // (height, width): the short side becomes 336, the long one int(336 · long / short).
  EXPECT_EQ(shortest_edge_size(300, 451, 336), std::make_pair(336, 505));  // 505.12
  EXPECT_EQ(shortest_edge_size(451, 300, 336), std::make_pair(505, 336));
  EXPECT_EQ(shortest_edge_size(300, 300, 224), std::make_pair(224, 224));
  EXPECT_EQ(shortest_edge_size(3, 2, 224), std::make_pair(336, 224));
  EXPECT_EQ(shortest_edge_size(480, 640, 224), std::make_pair(224, 298));  // 298.67
  EXPECT_EQ(shortest_edge_size(1, 1000, 8), std::make_pair(8, 8000));
}

TEST(ClipImageProcessor, CenterCropTakesTheFloorOffset) {
  // 5 wide -> 2: offset floor(3 / 2) = 1, columns 1 and 2.
  const io::Image out = center_crop(numbered(5, 4), 3, 2);
  ASSERT_EQ(out.width, 2);
  ASSERT_EQ(out.height, 3);
  EXPECT_EQ(out.row(0)[0], 10 * 0 + 1 + 1);  // rows from floor((4 - 3) / 2) = 0
  EXPECT_EQ(out.row(2)[3], 10 * 2 + 2 + 1);
}

TEST(ClipImageProcessor, CenterCropPadsSmallImagesWithBlack) {
  // 3 wide -> 6: the PIL backend pads ceil(3/2) = 2 columns before the image, torchvision's
  // floor(3/2) = 1.
  const io::Image im = numbered(3, 1);
  const io::Image pil = center_crop(im, 1, 6, io::ImageLibrary::pillow);
  const io::Image tv = center_crop(im, 1, 6, io::ImageLibrary::torchvision);
  std::vector<uint8_t> pil_row, tv_row;
  for (int x = 0; x < 6; ++x) {
    pil_row.push_back(pil.row(0)[3 * x]);
    tv_row.push_back(tv.row(0)[3 * x]);
  }
  EXPECT_EQ(pil_row, (std::vector<uint8_t>{0, 0, 1, 2, 3, 0}));
  EXPECT_EQ(tv_row, (std::vector<uint8_t>{0, 1, 2, 3, 0, 0}));
  // Smaller on one axis only: the other is cropped as usual.
  const io::Image mixed = center_crop(numbered(6, 2), 4, 2, io::ImageLibrary::pillow);
  EXPECT_EQ(mixed.row(0)[0], 0);               // padding row
  EXPECT_EQ(mixed.row(1)[0], 10 * 0 + 2 + 1);  // column offset floor(4/2) = 2
  EXPECT_EQ(mixed.row(3)[0], 0);
}

TEST(ClipImageProcessor, MatchesTheFixtureExactly) {
  const std::string dir = test::fixture_dir("preprocess");
  const nlohmann::json meta = io::read_json_file(dir + "/meta.json");
  ClipImageProcessor processor(parse_clip_image_processor_config(meta.at("clip336"), "meta"));
  const at::Tensor ours =
      processor.preprocess(std::vector<io::Image>{io::read_image(dir + "/input.png")});
  const at::Tensor ref =
      io::SafetensorsFile::open(dir + "/io.safetensors")->tensor("clip336.pixel_values");
  ASSERT_EQ(ours.sizes(), ref.sizes());
  // Same bytes as transformers' default (torchvision) backend; only float rounding differs.
  EXPECT_LT((ours - ref).abs().max().item<double>(), 1e-6);
  // Pillow's rounding differs by one level in a few pixels: within the documented tolerance.
  ClipImageProcessorConfig config = processor.config();
  config.library = io::ImageLibrary::pillow;
  const at::Tensor pil = ClipImageProcessor(config).preprocess(
      std::vector<io::Image>{io::read_image(dir + "/input.png")});
  EXPECT_LT((pil - ref).abs().mean().item<double>(), 1e-3);
  EXPECT_LT((pil - ref).abs().max().item<double>(), 2e-2);
}

TEST(ClipImageProcessor, NormalisesPerChannel) {
  ClipImageProcessorConfig config;
  config.do_resize = false;
  config.do_center_crop = false;
  const io::Image im = numbered(2, 1);  // pixels 1 and 2
  const at::Tensor out = ClipImageProcessor(config).preprocess(im);
  ASSERT_EQ(out.sizes(), (at::IntArrayRef{3, 1, 2}));
  for (int c = 0; c < 3; ++c)
    EXPECT_NEAR(out[c][0][1].item<float>(),
                (2 / 255.0 - config.image_mean[c]) / config.image_std[c], 1e-6);
}

TEST(ClipImageProcessor, OddSizesWork) {
  ClipImageProcessorConfig config = parse_clip_image_processor_config(
      parse(R"({"size": {"shortest_edge": 8}, "crop_size": 8})"), "cfg");
  ClipImageProcessor processor(config);
  for (auto [w, h] : {std::pair{1, 1}, {1, 1000}, {1000, 1}}) {
    const at::Tensor out = processor.preprocess(numbered(w, h));
    EXPECT_EQ(out.sizes(), (at::IntArrayRef{3, 8, 8})) << w << "x" << h;
    EXPECT_TRUE(at::isfinite(out).all().item<bool>());
  }
  // Batches stack; without a crop, different shapes cannot.
  EXPECT_EQ(processor.preprocess(std::vector<io::Image>{numbered(3, 5), numbered(9, 2)}).sizes(),
            (at::IntArrayRef{2, 3, 8, 8}));
  config.do_center_crop = false;
  EXPECT_THROW(
      ClipImageProcessor(config).preprocess(std::vector<io::Image>{numbered(3, 5), numbered(9, 2)}),
      Error);
}

TEST(ClipImageProcessorConfig, ReadsTransformersForms) {
  auto c = parse_clip_image_processor_config(parse("{}"), "cfg");
  EXPECT_EQ(c.shortest_edge, 224);
  EXPECT_EQ(c.resample, io::Resample::bicubic);
  EXPECT_EQ(c.crop_height, 224);
  c = parse_clip_image_processor_config(
      parse(R"({"size": 336, "crop_size": {"height": 300, "width": 200}, "resample": 2,
                "image_mean": 0.5, "image_std": [1, 2, 3], "do_center_crop": false})"),
      "cfg");
  EXPECT_EQ(c.shortest_edge, 336);
  EXPECT_EQ(c.crop_height, 300);
  EXPECT_EQ(c.crop_width, 200);
  EXPECT_EQ(c.resample, io::Resample::bilinear);
  EXPECT_EQ(c.image_mean[2], 0.5);
  EXPECT_EQ(c.image_std[2], 3.0);
  EXPECT_FALSE(c.do_center_crop);
  c = parse_clip_image_processor_config(parse(R"({"size": {"height": 20, "width": 30}})"), "cfg");
  EXPECT_EQ(c.shortest_edge, 0);
  EXPECT_EQ(c.resize_height, 20);
  EXPECT_EQ(c.resize_width, 30);
}

TEST(ClipImageProcessorConfig, BadFieldsAreNamed) {
  auto parse_clip = [](const char* text) {
    return [text] { parse_clip_image_processor_config(parse(text), "pp.json"); };
  };
  expect_config_error(parse_clip(R"({"size": {"longest_edge": 3}})"), {"pp.json", "'size'"});
  expect_config_error(parse_clip(R"({"size": {"shortest_edge": 0}})"),
                      {"'size.shortest_edge'", "out of range"});
  expect_config_error(parse_clip(R"({"size": "big"})"), {"'size'"});
  expect_config_error(parse_clip(R"({"crop_size": {"height": 3}})"), {"'crop_size'"});
  expect_config_error(parse_clip(R"({"resample": 0})"), {"'resample'", "NEAREST"});
  expect_config_error(parse_clip(R"({"resample": 9})"), {"'resample'"});
  expect_config_error(parse_clip(R"({"image_mean": [0.5, 0.5]})"), {"'image_mean'", "3 values"});
  expect_config_error(parse_clip(R"({"image_std": [1, 0, 1]})"), {"'image_std'"});
  expect_config_error(parse_clip(R"({"rescale_factor": -1})"), {"'rescale_factor'"});
  expect_config_error(parse_clip(R"({"do_resize": "yes"})"), {"'do_resize'"});
}

}  // namespace
}  // namespace lavender::vlm
