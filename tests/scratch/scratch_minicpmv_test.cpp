#include "lavender/scratch/scratch_minicpmv.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "cli/run_cli.h"
#include "lavender/io/config/minicpmv.h"
#include "lavender/io/json_file.h"
#include "lavender/io/safetensors.h"
#include "lavender/text/words.h"
#include "lavender/train/trainer.h"
#include "lavender/util/error.h"
#include "lavender/vlm/chat_model.h"
#include "lavender/vlm/minicpmv.h"
#include "lavender/vlm/minicpmv_prompt.h"
#include "scratch/scratch_training.h"
#include "test_paths.h"
#include "train/tiny_training_run.h"

namespace lavender {
namespace {

TEST(ScratchMiniCpmV, ConfigIsTheReleasesLayoutAtTheRequestedSizes) {
  scratch::ScratchMiniCpmVOptions o;
  const nlohmann::json j = scratch::scratch_minicpmv_config(o, 272);
  const auto c = io::config::parse_minicpmv_config(j, "test");
  EXPECT_EQ(c.query_num, 16);
  EXPECT_EQ(io::config::minicpmv_resampler_heads(c), 1);
  EXPECT_EQ(c.slice_config.scale_resolution, 32);
  EXPECT_EQ(c.patch_size, 4);
  EXPECT_EQ(c.vision_config.image_size / c.vision_config.patch_size, 16);  // position table side
  EXPECT_FALSE(c.drop_vision_last_layer);
  EXPECT_TRUE(c.batch_vision_input);  // the release's batching, quirk included
  EXPECT_EQ(c.llm.vocab_size, 272);
  EXPECT_EQ(j.at("bos_token_id"), 262);  // <|begin_of_text|>, the first of ten specials on top
}

TEST(ScratchMiniCpmV, SizesThatDoNotFitAreNamed) {
  scratch::ScratchMiniCpmVOptions o;
  o.text_hidden = 64;  // the resampler would have 64 / 128 = 0 heads
  try {
    scratch::scratch_minicpmv_config(o);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("text_hidden"), std::string::npos) << e.what();
  }
  o = {};
  o.patch_size = 5;
  EXPECT_THROW(scratch::scratch_minicpmv_config(o), Error);
  o = {};
  o.query_num = 0;
  EXPECT_THROW(scratch::scratch_minicpmv_config(o), Error);
}

TEST(ScratchMiniCpmV, WeightsFollowTheInitialisationRuleAndTheRelease) {
  test::TempDir dir;
  scratch::ScratchMiniCpmVOptions o;
  o.seed = 5;
  scratch::write_scratch_minicpmv(dir.path() + "/m", o);
  auto weights = io::SafetensorsFile::open(dir.path() + "/m/model.safetensors");
  EXPECT_NEAR(weights->tensor("llm.model.embed_tokens.weight").std().item<double>(), 0.02, 0.003);
  EXPECT_NEAR(weights->tensor("resampler.proj").std().item<double>(), 1 / std::sqrt(128.0), 0.01);
  EXPECT_EQ(weights->tensor("resampler.ln_q.weight").min().item<float>(), 1.0f);
  scratch::write_scratch_minicpmv(dir.path() + "/again", o);
  auto again = io::SafetensorsFile::open(dir.path() + "/again/model.safetensors");
  EXPECT_TRUE(torch::equal(again->tensor("resampler.query"), weights->tensor("resampler.query")));
}

// The placeholder tokens are single tokens and a 64-pixel image is cut into 2 × 2 slices beside
// its source picture, each read as 16 <unk>.
TEST(ScratchMiniCpmV, TokenizerHoldsTheReleasesTokensAndImagesAreSliced) {
  test::TempDir dir;
  scratch::ScratchMiniCpmVOptions o;
  o.corpus = {
      "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n<image>\nWhat colour "
      "is the star?<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nred<|eot_id|>"};
  scratch::write_scratch_minicpmv(dir.path() + "/m", o);
  auto chat = vlm::ChatModel::load(dir.path() + "/m");
  const auto& tok = chat->tokenizer();
  for (const char* special : {"<image>", "</image>", "<unk>", "<slice>", "</slice>", "<|eot_id|>"})
    EXPECT_EQ(tok.encode(special, false).size(), 1u) << special;
  EXPECT_EQ(tok.decode(tok.encode("a purple cross!", false)), "a purple cross!");

  const auto config = io::config::load_minicpmv_config(dir.path() + "/m/config.json");
  const auto processor = vlm::minicpmv_image_processor(dir.path() + "/m", config);
  io::Image image;
  image.width = image.height = 64, image.channels = 3;
  image.pixels.assign(64 * 64 * 3, 128);
  const auto inputs = processor.preprocess(image);
  EXPECT_EQ(inputs.grid_cols, 2);
  EXPECT_EQ(inputs.grid_rows, 2);
  ASSERT_EQ(inputs.tgt_sizes.size(0), 5);
  EXPECT_EQ(inputs.tgt_sizes[0][0].item<int64_t>(), 8);
  const auto placeholder = vlm::minicpmv_placeholder_ids(tok, inputs, processor.config());
  EXPECT_EQ(std::count(placeholder.begin(), placeholder.end(), tok.token_to_id("<unk>")), 5 * 16);
}

class ScratchMiniCpmVTraining : public ::testing::TestWithParam<const char*> {};

// The folder loads as a MiniCPM-V, answers, and trains with the Lavender loss through either
// reading of its resampled tokens.
TEST_P(ScratchMiniCpmVTraining, LoadsGeneratesAndTrains) {
  test::TempDir dir;
  test::TinyTrainingRun run = test::write_tiny_training_run(dir.path(), 4, "llava", false);
  scratch::ScratchMiniCpmVOptions o;
  o.image_size = 16;
  run.model = dir.path() + "/scratch";
  scratch::write_scratch_minicpmv(run.model, o);
  EXPECT_EQ(vlm::load_minicpmv(run.model)->config().query_num, 16);
  test::expect_answers_and_trains(run, dir.path() + "/out", GetParam());
  EXPECT_EQ(vlm::load_minicpmv(dir.path() + "/out/model")->config().query_num, 16);
}

INSTANTIATE_TEST_SUITE_P(LatentMaps, ScratchMiniCpmVTraining,
                         ::testing::Values("composed", "square"));

TEST(ScratchMiniCpmV, InitVlmWritesItWithTheFamilysDefaults) {
  test::TempDir dir;
  auto r = test::run_cli("init-vlm --family minicpmv --latents 9 --out " + dir.file("m"));
  ASSERT_EQ(r.code, 0) << r.output;
  const auto c = io::config::load_minicpmv_config(dir.file("m/config.json"));
  EXPECT_EQ(c.query_num, 9);
  EXPECT_EQ(c.llm.hidden_size, 128);  // its own default, not LLaVA's 64
  r = test::run_cli("init-vlm --family minicpmv --text-hidden 64 --out " + dir.file("x"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("multiple of 128"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace lavender
