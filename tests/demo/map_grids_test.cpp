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
  write_store(demo::saved_vlm_maps(o.out, "sft-s0", "test-id"), "k0", "images/a.png",
              {"red"}, torch::rand({1, 4, 4}));

  const nlohmann::json figures = demo::write_map_grids(o);
  ASSERT_EQ(figures.size(), 1u);  // only test-id has a truth store
  const std::string file = figures[0]["file"];
  EXPECT_EQ(file, "figures/maps-test-id.png");
  const io::Image fig = io::read_image(o.out + "/" + file);
  // image + truth + diffusion + before + three arms; two words → two rows.
  EXPECT_GT(fig.width, 7 * 96);
  EXPECT_GT(fig.height, 2 * 96);
}

}  // namespace
}  // namespace lavender
