#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "lavender/io/checkpoint.h"
#include "lavender/io/checkpoint_summary.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::io {
namespace {

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// Two shards and an index, as transformers writes them.
void write_sharded(const test::TempDir& dir, const std::string& index_json) {
  save_safetensors(dir.file("model-00001-of-00002.safetensors"),
                   {{"a.weight", torch::ones({2, 2})}, {"a.bias", torch::zeros({2})}});
  save_safetensors(dir.file("model-00002-of-00002.safetensors"),
                   {{"b.weight", torch::full({3}, 7.0f)}});
  write_text(dir.file("model.safetensors.index.json"), index_json);
}

const char* kIndex = R"({"metadata": {"total_size": 36}, "weight_map": {
  "a.weight": "model-00001-of-00002.safetensors",
  "a.bias": "model-00001-of-00002.safetensors",
  "b.weight": "model-00002-of-00002.safetensors"}})";

void expect_error(const std::string& path, const char* part) {
  try {
    Checkpoint::open(path);
    FAIL() << "expected an error mentioning " << part;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, OpensShardedFolderThroughItsIndex) {
  test::TempDir dir;
  write_sharded(dir, kIndex);
  auto ckpt = Checkpoint::open(dir.path());
  EXPECT_EQ(ckpt.names(), (std::vector<std::string>{"a.bias", "a.weight", "b.weight"}));
  EXPECT_EQ(ckpt.files().size(), 2u);
  EXPECT_EQ(ckpt.tensor("b.weight")[2].item<float>(), 7.0f);
  EXPECT_EQ(ckpt.metadata().at("total_size"), "36");
  EXPECT_EQ(ckpt.total_bytes(), 36u);
  EXPECT_NE(ckpt.file_of("b.weight").find("00002"), std::string::npos);
  // The index file itself works as the path too.
  EXPECT_EQ(Checkpoint::open(dir.file("model.safetensors.index.json")).names().size(), 3u);
}

TEST(Checkpoint, IndexAndShardsMustAgree) {
  {
    test::TempDir dir;
    write_sharded(dir, R"({"weight_map": {"a.weight": "model-00001-of-00002.safetensors",
      "a.bias": "model-00001-of-00002.safetensors", "b.weight": "missing.safetensors"}})");
    expect_error(dir.path(), "missing.safetensors");
  }
  {
    test::TempDir dir;
    write_sharded(dir, R"({"weight_map": {"a.weight": "model-00001-of-00002.safetensors",
      "a.bias": "model-00001-of-00002.safetensors", "b.weight": "model-00001-of-00002.safetensors"}})");
    expect_error(dir.path(), "does not hold it");
  }
  {
    test::TempDir dir;
    write_sharded(dir, R"({"weight_map": {"a.weight": "model-00001-of-00002.safetensors",
      "b.weight": "model-00002-of-00002.safetensors"}})");
    expect_error(dir.path(), "does not list");
  }
  {
    test::TempDir dir;
    write_sharded(dir, R"({"weight_map": {"a.weight": "../evil.safetensors"}})");
    expect_error(dir.path(), "leaves the checkpoint folder");
  }
  {
    test::TempDir dir;
    write_sharded(dir, R"({"weight_map": [1, 2]})");
    expect_error(dir.path(), "weight_map");
  }
  {
    test::TempDir dir;
    write_sharded(dir, R"({"weight_map": {)");
    expect_error(dir.path(), "invalid JSON");
  }
}

TEST(Checkpoint, FolderWithoutWeightsOrMissingPath) {
  test::TempDir dir;
  expect_error(dir.path(), "holds no safetensors checkpoint");
  expect_error(dir.file("nope"), "no such file");
}

TEST(Checkpoint, OpensEveryFixtureModelFolder) {
  for (const char* sub :
       {"llava", "mllama", "clip_text", "sd_tiny/unet", "sd_tiny/vae", "sd_tiny/text_encoder"}) {
    auto ckpt = Checkpoint::open(test::fixture_dir(sub));
    EXPECT_GT(ckpt.names().size(), 10u) << sub;
    EXPECT_EQ(ckpt.metadata().at("format"), "pt") << sub;
  }
}

TEST(CheckpointSummary, ListsTensorsTotalsAndMetadata) {
  auto ckpt = Checkpoint::open(test::fixture_dir("llava"));
  std::string text = format_checkpoint_summary(ckpt, {"lm_head", false});
  EXPECT_NE(text.find("language_model.lm_head.weight  F32     [300, 64]"), std::string::npos)
      << text;
  EXPECT_NE(text.find("1 tensors (of 89), 19200 elements"), std::string::npos) << text;
  EXPECT_NE(text.find("format = pt"), std::string::npos);
  auto json = checkpoint_summary_json(ckpt);
  EXPECT_EQ(json["total_tensors"], 89);
  EXPECT_EQ(json["by_dtype"]["F32"]["bytes"], json["total_bytes"]);
  EXPECT_THROW(format_checkpoint_summary(ckpt, {"([", false}), Error);
}

}  // namespace
}  // namespace lavender::io
