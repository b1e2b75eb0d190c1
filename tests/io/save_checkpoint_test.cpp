#include "lavender/io/save_checkpoint.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lavender/io/checkpoint.h"
#include "lavender/io/json_file.h"
#include "lavender/io/safetensors.h"
#include "lavender/parity/parity.h"
#include "lavender/util/error.h"
#include "lavender/vlm/llava.h"
#include "test_paths.h"

namespace lavender::io {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> entries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SaveCheckpoint, SmallModelIsOneFileWithFormatMetadata) {
  test::TempDir dir;
  const std::string out = dir.file("ckpt");
  const std::vector<std::pair<std::string, at::Tensor>> tensors{
      {"b", torch::arange(6, torch::kFloat).view({2, 3})}, {"a", torch::ones({4}, torch::kHalf)}};
  const auto report = save_hf_checkpoint(out, tensors, {{"model_type", "llama"}});
  EXPECT_EQ(report.files, (std::vector<std::string>{"model.safetensors"}));
  EXPECT_EQ(report.total_size, 6u * 4 + 4u * 2);
  EXPECT_EQ(entries(out), (std::vector<std::string>{"config.json", "model.safetensors"}));
  EXPECT_EQ(read_json_file(out + "/config.json")["model_type"], "llama");
  const Checkpoint ckpt = Checkpoint::open(out);
  EXPECT_EQ(ckpt.names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(torch::equal(ckpt.tensor("b"), tensors[0].second));
  EXPECT_EQ(ckpt.metadata().at("format"), "pt");
  // Nothing but the target is left in the parent.
  EXPECT_EQ(entries(dir.path()), (std::vector<std::string>{"ckpt"}));
}

TEST(SaveCheckpoint, TiedWeightsAreWrittenOnce) {
  test::TempDir dir;
  const at::Tensor embed = torch::randn({5, 3});
  const auto report = save_hf_checkpoint(
      dir.path(), {{"embed_tokens.weight", embed}, {"lm_head.weight", embed}, {"x", embed.clone()}},
      nlohmann::json::object());
  EXPECT_EQ(report.dropped_aliases, (std::vector<std::string>{"lm_head.weight"}));
  EXPECT_EQ(Checkpoint::open(dir.path()).names(),
            (std::vector<std::string>{"embed_tokens.weight", "x"}));
  EXPECT_THROW(save_hf_checkpoint(dir.file("dup"), {{"x", embed}, {"x", embed.clone()}}, {}),
               Error);
}

TEST(SaveCheckpoint, ShardedLlavaReopensAndLoadsWithIdenticalLogits) {
  const std::string fixture = test::fixture_dir("llava");
  auto model = vlm::load_llava(fixture);
  auto f = parity::load_fixture(fixture);
  vlm::LlavaInputs in;
  in.input_ids = f.tensor("input_ids");
  in.pixel_values = f.tensor("pixel_values");
  torch::NoGradGuard no_grad;
  const at::Tensor expected = model->forward(in).logits;

  test::TempDir dir;
  const std::string out = dir.file("saved");
  SaveCheckpointOptions options;
  options.max_shard_bytes = 20000;
  options.extra_files["generation_config.json"] = "{}";
  const auto tensors = module_tensors(*model);
  const auto report =
      save_hf_checkpoint(out, tensors, read_json_file(fixture + "/config.json"), options);
  const size_t n = report.files.size();
  ASSERT_GT(n, 2u);
  EXPECT_EQ(report.files.front(), "model-00001-of-" + std::string(5 - std::to_string(n).size(), '0') +
                                      std::to_string(n) + ".safetensors");

  const nlohmann::json index = read_json_file(out + "/model.safetensors.index.json");
  EXPECT_EQ(index["metadata"]["total_size"].get<uint64_t>(), report.total_size);
  EXPECT_EQ(index["weight_map"].size(), tensors.size());
  uint64_t sum = 0;
  for (const auto& [name, t] : tensors) sum += t.numel() * t.element_size();
  EXPECT_EQ(report.total_size, sum);
  for (const auto& file : report.files) {
    auto shard = SafetensorsFile::open(out + "/" + file);
    EXPECT_EQ(shard->metadata().at("format"), "pt");
    // Only a tensor over the limit may push a shard past it.
    uint64_t bytes = 0;
    for (const auto& info : shard->tensors()) bytes += info.end - info.begin;
    if (shard->tensors().size() > 1) {
      EXPECT_LE(bytes, options.max_shard_bytes) << file;
    }
  }
  const Checkpoint ckpt = Checkpoint::open(out);
  EXPECT_EQ(ckpt.names().size(), tensors.size());
  EXPECT_TRUE(fs::exists(out + "/generation_config.json"));
  EXPECT_TRUE(torch::equal(vlm::load_llava(out)->forward(in).logits, expected));

  // Saving again over it with one shard leaves no stale shards and no hidden folders.
  save_hf_checkpoint(out, tensors, read_json_file(fixture + "/config.json"));
  EXPECT_EQ(entries(out), (std::vector<std::string>{"config.json", "model.safetensors"}));
  EXPECT_EQ(entries(dir.path()), (std::vector<std::string>{"saved"}));
  EXPECT_TRUE(torch::equal(vlm::load_llava(out)->forward(in).logits, expected));
}

}  // namespace
}  // namespace lavender::io
