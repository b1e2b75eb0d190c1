#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "lavender/io/authors_layout.h"
#include "lavender/io/image.h"
#include "test_paths.h"

namespace lavender::io {
namespace {

TEST(AuthorsLayout, ExportThenImportRoundTripsWithinJpegPrecision) {
  test::TempDir dir;
  const nlohmann::json info = {{"map_size", 32}, {"recipe", "single-pass"}};
  at::Tensor maps = torch::zeros({2, 32, 32});
  maps[0].slice(0, 4, 12).slice(1, 4, 12).fill_(1.0);    // "dog" top-left
  maps[1].slice(0, 20, 30).slice(1, 18, 28).fill_(0.6);  // "ball" bottom-right
  {
    MapStoreWriter w(dir.file("ours"), info);
    MapEntry e;
    e.key = "1000092795.jpg";
    e.words = {"dog", "ball"};
    e.token_spans = {{1, 2}, {3, 4}};
    w.add(e, maps);
  }
  std::vector<std::string> skipped;
  size_t files =
      export_authors_layout(MapStoreReader::open(dir.file("ours")), dir.file("pub"), &skipped);
  EXPECT_EQ(files, 2u);
  EXPECT_TRUE(skipped.empty());
  EXPECT_TRUE(std::filesystem::exists(
      dir.file("pub/1000092795.jpg/lpm_attention/1000092795/attention_dog.jpg")));

  MapStoreWriter w(dir.file("imported"), info);
  auto report = import_authors_layout(dir.file("pub"), w, 32);
  w.flush();
  EXPECT_EQ(report.images, 1u);
  EXPECT_TRUE(report.problems.empty());
  auto r = MapStoreReader::open(dir.file("imported"));
  const auto& e = r.entry("1000092795.jpg");
  ASSERT_EQ(e.words, (std::vector<std::string>{"ball", "dog"}));  // sorted by name
  at::Tensor back = r.maps("1000092795.jpg").to(torch::kFloat);
  EXPECT_LT((back[1] - maps[0]).abs().mean().item<float>(), 0.02);  // dog
  EXPECT_LT((back[0] - maps[1]).abs().mean().item<float>(), 0.02);  // ball

  // A second import skips what is there.
  EXPECT_EQ(import_authors_layout(dir.file("pub"), w, 32).skipped, 1u);
}

TEST(AuthorsLayout, BrokenJpegsAreReportedNotFatal) {
  test::TempDir dir;
  std::filesystem::create_directories(dir.file("pub/a.jpg/lpm_attention/a"));
  std::ofstream(dir.file("pub/a.jpg/lpm_attention/a/attention_cat.jpg")) << "not a jpeg";
  MapStoreWriter w(dir.file("s"), {{"map_size", 32}});
  auto report = import_authors_layout(dir.file("pub"), w, 32);
  EXPECT_EQ(report.images, 0u);
  ASSERT_EQ(report.problems.size(), 2u);
  EXPECT_NE(report.problems[0].find("attention_cat.jpg"), std::string::npos) << report.problems[0];
}

}  // namespace
}  // namespace lavender::io
