#include "lavender/demo/map_grids.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "lavender/io/image.h"
#include "lavender/io/map_store.h"
#include "test_paths.h"

namespace lavender {
namespace {

void write_store(const std::string& dir, const std::string& key, const std::string& image,
                 const std::vector<std::string>& words, const at::Tensor& maps) {
  io::MapStoreWriter w(dir, {{"map_size", maps.size(-1)}, {"recipe", "test"}});
  io::MapEntry e;
  e.key = key;
  e.image = image;
  e.text = "What colour is the star? red";
  e.words = words;
  w.add(e, maps.to(torch::kHalf));
}

TEST(MapGrids, OneFigurePerSplitWithTruthAndMissingSourcesCrossedOut) {
  test::TempDir dir;
  demo::DemoOptions o;
  o.out = dir.path();
  const std::string world = o.out + "/world";
  io::Image img;
  img.width = img.height = 8;
  img.channels = 3;
  img.pixels.assign(8 * 8 * 3, 90);
  std::filesystem::create_directories(world + "/images");
  io::write_png(world + "/images/a.png", img);
  at::Tensor truth = torch::zeros({2, 8, 8});
  truth[0].slice(0, 2, 4).fill_(1);
  write_store(world + "/truth/test-id", "k0", "images/a.png", {"star", "red"}, truth);
  // The fine-tuned SFT VLM kept maps for "red" only (of another size); nothing else ran.
  write_store(demo::saved_vlm_maps(o.out, "sft-s0", "test-id"), "k0", "images/a.png", {"red"},
              torch::rand({1, 4, 4}));

  const nlohmann::json figures = demo::write_map_grids(o);
  ASSERT_EQ(figures.size(), 1u);  // only test-id has a truth store
  const std::string file = figures[0]["file"];
  EXPECT_EQ(file, "figures/maps-test-id.png");
  const io::Image fig = io::read_image(o.out + "/" + file);
  // image + truth + diffusion + before + three arms; two words → two rows.
  EXPECT_GT(fig.width, 7 * 96);
  EXPECT_GT(fig.height, 2 * 96);

  // The report's grid: one record, its two words, a panel per source or null where none ran.
  const nlohmann::json& grid = figures[0]["grid"];
  EXPECT_EQ(grid["columns"][0], "image");
  EXPECT_EQ(grid["columns"].size(), 7u);
  ASSERT_EQ(grid["records"].size(), 1u);
  const nlohmann::json& record = grid["records"][0];
  EXPECT_EQ(record["question"], "What colour is the star? red");
  EXPECT_TRUE(std::filesystem::exists(o.out + "/" + record["image"].get<std::string>()));
  ASSERT_EQ(record["words"].size(), 2u);
  const nlohmann::json& red = record["words"][1];
  EXPECT_EQ(red["word"], "red");
  ASSERT_EQ(red["tiles"].size(), 6u);
  EXPECT_TRUE(red["tiles"][0].is_string());               // truth
  EXPECT_TRUE(red["tiles"][1].is_null());                 // no diffusion maps
  EXPECT_TRUE(red["tiles"][3].is_string());               // SFT
  EXPECT_TRUE(record["words"][0]["tiles"][3].is_null());  // SFT kept no "star"
  const io::Image tile = io::read_image(o.out + "/" + red["tiles"][3].get<std::string>());
  EXPECT_EQ(tile.width, 96);
}

}  // namespace
}  // namespace lavender
