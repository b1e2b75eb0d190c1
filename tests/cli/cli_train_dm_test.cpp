// train-dm then sd-attn on its result, as a user runs them.
#include <gtest/gtest.h>

#include <filesystem>

#include "cli/run_cli.h"
#include "dm/tiny_shapes.h"
#include "lavender/io/map_store.h"
#include "test_paths.h"

namespace lavender {
namespace {

using test::run_cli;

TEST(CliTrainDm, TrainsThenTheTeacherDrawsMapsFromIt) {
  test::TempDir dir;
  test::write_tiny_shapes(dir.file("shapes"), 3, 4);
  const std::string data = dir.file("shapes/captions.jsonl");
  const std::string train = "train-dm --data " + data + " --out " + dir.file("dm") +
                            " --steps 3 --batch 2 --image-size 16 --channels 16,32 --heads 2"
                            " --text-hidden 32";
  auto r = run_cli(train);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("3 pairs, 3 steps"), std::string::npos) << r.output;
  r = run_cli(train);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("already trained"), std::string::npos) << r.output;

  r = run_cli("sd-attn --model " + dir.file("dm") + " --data " + data + " --images " +
              dir.file("shapes") + " --out " + dir.file("store") +
              " --recipe small-dm --map-size 8 --batch 2");
  ASSERT_EQ(r.code, 0) << r.output;
  auto store = io::MapStoreReader::open(dir.file("store"));
  ASSERT_EQ(store.entries().size(), 3u);
  ASSERT_TRUE(store.contains("img0"));
  const auto& words = store.entry("img0").words;
  EXPECT_NE(std::find(words.begin(), words.end(), "left"), words.end());
  EXPECT_EQ(store.info()["recipe"]["image_size"], 16);  // the model's own resolution

  r = run_cli("train-dm --data " + dir.file("missing.jsonl") + " --out " + dir.file("dm2"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("missing.jsonl"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir.file("dm2")));
}

}  // namespace
}  // namespace lavender
