#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "lavender/io/map_store.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::io {
namespace {

MapEntry entry(const std::string& key, int n_words) {
  MapEntry e;
  e.key = key;
  e.image = key + ".jpg";
  e.text = "a red circle";
  for (int i = 0; i < n_words; ++i) e.words.push_back("w" + std::to_string(i));
  for (int i = 0; i < n_words; ++i) e.token_spans.emplace_back(i + 1, i + 2);
  return e;
}

const nlohmann::json kInfo = {{"map_size", 8}, {"recipe", "single-pass"}};

TEST(MapStore, WritesShardsAndReadsBack) {
  test::TempDir dir;
  {
    MapStoreWriter w(dir.path(), kInfo, /*shard_entries=*/2);
    for (int i = 0; i < 5; ++i)
      w.add(entry("img" + std::to_string(i), 1 + i % 3), torch::rand({1 + i % 3, 8, 8}));
  }  // destructor flushes the fifth
  auto r = MapStoreReader::open(dir.path());
  EXPECT_EQ(r.entries().size(), 5u);
  EXPECT_EQ(r.info()["recipe"], "single-pass");
  at::Tensor m = r.maps("img4");
  EXPECT_EQ(m.sizes(), (std::vector<int64_t>{2, 8, 8}));
  EXPECT_EQ(m.scalar_type(), torch::kHalf);
  EXPECT_EQ(r.entry("img4").shard, "maps-00002.safetensors");
  EXPECT_EQ(r.entry("img1").token_spans[1], std::make_pair(2, 3));
  EXPECT_THROW(r.maps("nope"), Error);
}

TEST(MapStore, PartsOfAShardedRunReadAsOneStore) {
  test::TempDir dir;
  for (int part = 0; part < 2; ++part) {
    MapStoreWriter w(dir.file("part-" + std::to_string(part) + "-of-2"), kInfo);
    w.add(entry("p" + std::to_string(part), 2), torch::rand({2, 8, 8}));
    w.add(entry("shared", 1), torch::full({1, 8, 8}, static_cast<float>(part)));
  }
  auto r = MapStoreReader::open(dir.path());
  EXPECT_EQ(r.entries().size(), 3u);
  EXPECT_EQ(r.duplicates(), 1u);
  EXPECT_EQ(r.maps("p1").size(0), 2);
  EXPECT_EQ(r.maps("shared").max().item<float>(), 0.0f);  // the first part's copy
  EXPECT_EQ(r.entry("p1").shard, "part-1-of-2/maps-00000.safetensors");

  MapStoreWriter other(dir.file("part-2-of-3"), {{"map_size", 8}, {"recipe", "p2p"}});
  other.add(entry("q", 1), torch::rand({1, 8, 8}));
  other.flush();
  EXPECT_THROW(MapStoreReader::open(dir.path()), Error);
  EXPECT_THROW(MapStoreReader::open(dir.file("nothing-here")), Error);
}

TEST(MapStore, ResumeAfterAKillSkipsDoneKeysAndSurvivesATornIndexLine) {
  test::TempDir dir;
  std::vector<at::Tensor> maps;
  for (int i = 0; i < 5; ++i) maps.push_back(torch::rand({2, 8, 8}));
  // A child process writes two full shards, queues a fifth entry, starts an index line and dies
  // without running any destructor: what a kill -9 mid-run leaves behind.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    MapStoreWriter* w = new MapStoreWriter(dir.path(), kInfo, 2);
    for (int i = 0; i < 5; ++i) w->add(entry("k" + std::to_string(i), 2), maps[i]);
    std::ofstream(dir.file("index.jsonl"), std::ios::app) << R"({"key": "torn", "wor)";
    std::_Exit(0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));

  MapStoreWriter w(dir.path(), kInfo, 2);
  EXPECT_EQ(w.size(), 4u);  // the pending fifth was lost, nothing else
  EXPECT_TRUE(w.contains("k3"));
  EXPECT_FALSE(w.contains("k4"));
  EXPECT_THROW(w.add(entry("k1", 2), maps[1]), Error);
  w.add(entry("k4", 2), maps[4]);
  w.flush();
  auto r = MapStoreReader::open(dir.path());
  EXPECT_EQ(r.entries().size(), 5u);
  EXPECT_TRUE(torch::equal(r.maps("k4"), maps[4].to(torch::kHalf)));
  EXPECT_TRUE(torch::equal(r.maps("k0"), maps[0].to(torch::kHalf)));
  std::ifstream in(dir.file("index.jsonl"));
  std::string line;
  while (std::getline(in, line)) EXPECT_EQ(line.front(), '{');  // the torn line was cut off
}

TEST(MapStore, RefusesToMixRecipesAndChecksShapes) {
  test::TempDir dir;
  { MapStoreWriter w(dir.path(), kInfo); }
  nlohmann::json other = {{"map_size", 16}, {"recipe", "single-pass"}};
  EXPECT_THROW(MapStoreWriter(dir.path(), other), Error);
  MapStoreWriter w(dir.path(), kInfo);
  EXPECT_THROW(w.add(entry("x", 2), torch::rand({3, 8, 8})), Error);
  EXPECT_THROW(MapStoreReader::open(dir.file("missing")), Error);
}

}  // namespace
}  // namespace lavender::io
