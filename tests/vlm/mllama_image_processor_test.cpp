#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/config/config_test_util.h"
#include "lavender/io/config/image_processor.h"
#include "lavender/io/image.h"
#include "lavender/io/json_file.h"
#include "lavender/io/safetensors.h"
#include "lavender/util/error.h"
#include "lavender/vlm/mllama_image_processor.h"
#include "test_paths.h"

namespace lavender::vlm {
namespace {

using io::config::MllamaImageProcessorConfig;
using io::config::parse_mllama_image_processor_config;
using test::expect_config_error;
using test::parse;

io::Image grey(int w, int h, uint8_t value) {
  return io::Image{w, h, 3, std::vector<uint8_t>(static_cast<size_t>(w) * h * 3, value)};
}

MllamaImageProcessor small(int64_t tile, int64_t max_tiles) {
  MllamaImageProcessorConfig config;
  config.tile_size = tile;
  config.max_image_tiles = max_tiles;
  return MllamaImageProcessor(config);
}

TEST(MllamaTiling, AspectRatiosInTransformersOrder) {
  EXPECT_EQ(mllama_aspect_ratios(1), (std::vector<TileGrid>{{1, 1}}));
  EXPECT_EQ(mllama_aspect_ratios(2), (std::vector<TileGrid>{{1, 1}, {1, 2}, {2, 1}}));
  // The list Llama 3.2 Vision's config stores as supported_aspect_ratios (ids 1..8).
  EXPECT_EQ(
      mllama_aspect_ratios(4),
      (std::vector<TileGrid>{{1, 1}, {1, 2}, {1, 3}, {1, 4}, {2, 1}, {2, 2}, {3, 1}, {4, 1}}));
  EXPECT_EQ(mllama_aspect_ratios(6).size(), 14u);  // 6 + 3 + 2 + 1 + 1 + 1
}

struct Case {
  int64_t height, width, max_tiles;
  TileGrid grid;
  int64_t id, resized_height, resized_width;
};

TEST(MllamaTiling, PlansMatchTransformers) {
  // Worked by hand from get_optimal_tiled_canvas / get_image_size_fit_to_canvas, tile 224.
  const Case cases[] = {
      // The fixture: no canvas allows upscaling; least downscaling is 448/451 on 448x448.
      {300, 451, 4, {2, 2}, 6, 298, 448},
      // Exactly one tile: several canvases give scale 1; the smallest area wins.
      {224, 224, 4, {1, 1}, 1, 224, 224},
      // Upscaling possible everywhere; the least (224/150) is shared by the 1-column grids and
      // the 1x1 canvas has the least area. Height: floor(100 · 224/150) = 149.
      {100, 150, 4, {1, 1}, 1, 149, 224},
      // A 1-pixel-high sliver: four tiles in a row; its height floors to 0 and is kept at 1.
      {1, 1000, 4, {1, 4}, 4, 1, 896},
      // Tall: four tiles in a column; width floor(100 · 0.896) = 89.
      {1000, 100, 4, {4, 1}, 8, 896, 89},
      // At most 2 tiles: 224x448 wins (scale 0.7467); width floor(451 · 224/300) = 336.
      {300, 451, 2, {1, 2}, 2, 224, 336},
      // A single pixel is upscaled to one tile.
      {1, 1, 4, {1, 1}, 1, 224, 224},
  };
  for (const Case& c : cases) {
    const MllamaTilePlan plan = plan_mllama_tiles(c.height, c.width, c.max_tiles, 224);
    EXPECT_EQ(plan.grid, c.grid) << c.height << "x" << c.width;
    EXPECT_EQ(plan.aspect_ratio_id, c.id) << c.height << "x" << c.width;
    EXPECT_EQ(plan.resized_height, c.resized_height) << c.height << "x" << c.width;
    EXPECT_EQ(plan.resized_width, c.resized_width) << c.height << "x" << c.width;
  }
  EXPECT_EQ(mllama_optimal_canvas(300, 451, 4, 224), std::make_pair(int64_t{448}, int64_t{448}));
  EXPECT_THROW(plan_mllama_tiles(0, 10, 4, 224), Error);
}

TEST(MllamaImageProcessor, MatchesTheFixtureExactly) {
  const std::string dir = test::fixture_dir("preprocess");
  const nlohmann::json meta = io::read_json_file(dir + "/meta.json");
  MllamaImageProcessor processor(parse_mllama_image_processor_config(meta.at("mllama224"), "meta"));
  const MllamaImageBatch ours = processor.preprocess({{io::read_image(dir + "/input.png")}});
  auto file = io::SafetensorsFile::open(dir + "/io.safetensors");
  const at::Tensor ref = file->tensor("mllama224.pixel_values");
  ASSERT_EQ(ours.pixel_values.sizes(), ref.sizes());
  EXPECT_LT((ours.pixel_values - ref).abs().max().item<double>(), 1e-6);
  EXPECT_TRUE(at::equal(ours.aspect_ratio_ids, file->tensor("mllama224.aspect_ratio_ids")));
  EXPECT_TRUE(at::equal(ours.aspect_ratio_mask, file->tensor("mllama224.aspect_ratio_mask")));
  EXPECT_EQ(ours.num_tiles, (std::vector<std::vector<int64_t>>{{4}}));
}

TEST(MllamaImageProcessor, PadsWithBlackAndZeroTiles) {
  // 10 high, 40 wide with tiles of 8, at most 4: no canvas allows upscaling and 1x4 needs the
  // least downscaling (0.8 on both sides), so the image becomes exactly 8x32, unpadded.
  const MllamaImage full = small(8, 4).preprocess(grey(40, 10, 255));
  EXPECT_EQ(full.num_tiles, 4);
  EXPECT_EQ(full.aspect_ratio_id, 4);
  EXPECT_NEAR(full.pixel_values.min().item<float>(), 1.0f, 1e-6);  // (1 - 0.5) / 0.5

  // 8 high, 12 wide, tiles of 8, at most 4: canvases 8x16 (1x2) scale min(1, 1.33) = 1 is the
  // least upscaling; the image keeps 8x12 and 4 columns of black pad the second tile.
  const MllamaImage padded = small(8, 4).preprocess(grey(12, 8, 255));
  ASSERT_EQ(padded.pixel_values.sizes(), (at::IntArrayRef{4, 3, 8, 8}));
  EXPECT_EQ(padded.num_tiles, 2);
  EXPECT_EQ(padded.aspect_ratio_id, 2);
  EXPECT_TRUE(at::equal(padded.aspect_ratio_mask, at::tensor({1, 1, 0, 0}, at::kLong)));
  const at::Tensor second = padded.pixel_values[1];
  EXPECT_NEAR(second.narrow(2, 0, 4).min().item<float>(), 1.0f, 1e-6);             // image
  EXPECT_NEAR(second.narrow(2, 4, 4).max().item<float>(), -1.0f, 1e-6);            // black pad
  EXPECT_EQ(padded.pixel_values.narrow(0, 2, 2).abs().max().item<float>(), 0.0f);  // no tile
}

TEST(MllamaImageProcessor, TilesAreRowMajor) {
  // A 16x16 image on 8-pixel tiles, 2x2 grid: tile k holds quadrant (k / 2, k % 2).
  io::Image im = grey(16, 16, 0);
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x)
      for (int c = 0; c < 3; ++c)
        im.row(y)[3 * x + c] = static_cast<uint8_t>(50 * (2 * (y / 8) + x / 8));
  const MllamaImage out = small(8, 4).preprocess(im);
  ASSERT_EQ(out.aspect_ratio_id, 6);
  for (int k = 0; k < 4; ++k)
    EXPECT_NEAR(out.pixel_values[k][0][3][3].item<float>(), (50 * k / 255.0 - 0.5) / 0.5, 1e-6);
}

TEST(MllamaImageProcessor, BatchesPadImagesAndTiles) {
  const MllamaImageProcessor processor = small(8, 4);
  const MllamaImageBatch batch =
      processor.preprocess({{grey(12, 8, 9)}, {grey(16, 16, 1), grey(1, 1, 2)}});
  EXPECT_EQ(batch.pixel_values.sizes(), (at::IntArrayRef{2, 2, 4, 3, 8, 8}));
  EXPECT_TRUE(at::equal(batch.aspect_ratio_ids, at::tensor({2, 0, 6, 1}, at::kLong).view({2, 2})));
  // The absent image's slot still has its first tile marked, as transformers does.
  EXPECT_TRUE(at::equal(
      batch.aspect_ratio_mask,
      at::tensor({1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0}, at::kLong).view({2, 2, 4})));
  EXPECT_EQ(batch.num_tiles, (std::vector<std::vector<int64_t>>{{2}, {4, 1}}));
  EXPECT_EQ(batch.pixel_values[0][1].abs().max().item<float>(), 0.0f);
  EXPECT_THROW(processor.preprocess(std::vector<std::vector<io::Image>>{{}, {}}), Error);
}

TEST(MllamaImageProcessor, OddSizesWork) {
  const MllamaImageProcessor processor = small(16, 4);
  for (auto [w, h] : {std::pair{1, 1}, {1, 1000}, {1000, 1}}) {
    const MllamaImage out = processor.preprocess(grey(w, h, 77));
    EXPECT_EQ(out.pixel_values.sizes(), (at::IntArrayRef{4, 3, 16, 16})) << w << "x" << h;
    EXPECT_TRUE(at::isfinite(out.pixel_values).all().item<bool>());
  }
}

TEST(MllamaImageProcessorConfig, ReadsAndRejects) {
  auto c = parse_mllama_image_processor_config(parse("{}"), "cfg");
  EXPECT_EQ(c.tile_size, 224);
  EXPECT_EQ(c.max_image_tiles, 4);
  EXPECT_EQ(c.resample, io::Resample::bilinear);
  c = parse_mllama_image_processor_config(
      parse(R"({"size": {"height": 560, "width": 560}, "max_image_tiles": 6, "resample": 3})"),
      "cfg");
  EXPECT_EQ(c.tile_size, 560);
  EXPECT_EQ(c.max_image_tiles, 6);
  EXPECT_EQ(c.resample, io::Resample::bicubic);
  auto parse_mllama = [](const char* text) {
    return [text] { parse_mllama_image_processor_config(parse(text), "pp.json"); };
  };
  expect_config_error(parse_mllama(R"({"size": {"height": 224, "width": 448}})"),
                      {"pp.json", "'size'", "square"});
  expect_config_error(parse_mllama(R"({"size": {"shortest_edge": 224}})"), {"'size'"});
  expect_config_error(parse_mllama(R"({"do_pad": false})"), {"'do_pad'"});
  expect_config_error(parse_mllama(R"({"do_resize": false})"), {"'do_resize'"});
  expect_config_error(parse_mllama(R"({"max_image_tiles": 0})"), {"'max_image_tiles'"});
  expect_config_error(parse_mllama(R"({"image_std": 0})"), {"'image_std'"});
}

}  // namespace
}  // namespace lavender::vlm
