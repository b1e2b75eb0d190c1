// show-maps and maps import/export as a user meets them.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "cli/run_cli.h"
#include "lavender/io/image.h"
#include "lavender/io/map_store.h"
#include "test_paths.h"

namespace lavender {
namespace {

using test::run_cli;

void write_store(const test::TempDir& dir) {
  io::Image img;
  img.width = img.height = 16;
  img.channels = 3;
  img.pixels.assign(16 * 16 * 3, 90);
  io::write_png(dir.file("cat.png"), img);
  io::MapStoreWriter store(dir.file("store"), {{"map_size", 8}, {"recipe", "t"}});
  io::MapEntry e;
  e.key = "cat.png";
  e.image = "cat.png";
  e.text = "a cat";
  e.words = {"a", "cat"};
  e.token_spans = {{1, 2}, {2, 3}};
  store.add(e, torch::rand({2, 8, 8}));
}

TEST(CliMaps, ShowMapsWritesAPng) {
  test::TempDir dir;
  write_store(dir);
  auto r = run_cli("show-maps --store " + dir.file("store") + " --image cat.png --images " +
                   dir.path() + " --out " + dir.file("fig.png") + " --panel 64");
  ASSERT_EQ(r.code, 0) << r.output;
  io::Image fig = io::read_image(dir.file("fig.png"));
  EXPECT_EQ(fig.width, 8 + 3 * (64 + 8));

  r = run_cli("show-maps --store " + dir.file("store") + " --image dog.png --out " +
              dir.file("x.png"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("no maps for \"dog.png\""), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir.file("x.png")));
}

TEST(CliMaps, ExportThenImportRoundTrips) {
  test::TempDir dir;
  write_store(dir);
  auto r = run_cli("maps export --store " + dir.file("store") + " --root " + dir.file("layout"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(
      std::filesystem::exists(dir.file("layout/cat.png/lpm_attention/cat/attention_cat.jpg")));
  r = run_cli("maps import --store " + dir.file("back") + " --root " + dir.file("layout") +
              " --map-size 8");
  ASSERT_EQ(r.code, 0) << r.output;
  auto back = io::MapStoreReader::open(dir.file("back"));
  ASSERT_TRUE(back.contains("cat.png"));
  EXPECT_EQ(back.entry("cat.png").words, (std::vector<std::string>{"a", "cat"}));
  auto original = io::MapStoreReader::open(dir.file("store"));
  at::Tensor diff = (back.maps("cat.png").to(at::kFloat) - original.maps("cat.png").to(at::kFloat));
  EXPECT_LT(diff.abs().max().item<float>(), 0.05);  // 8-bit JPEG quantisation

  r = run_cli("maps sideways --store a --root b");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("import or export"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace lavender
