#include "lavender/scratch/scratch_open_flamingo.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "cli/run_cli.h"
#include "lavender/io/config/open_flamingo.h"
#include "lavender/io/json_file.h"
#include "lavender/io/safetensors.h"
#include "lavender/text/words.h"
#include "lavender/train/trainer.h"
#include "lavender/util/error.h"
#include "lavender/vlm/chat_model.h"
#include "lavender/vlm/open_flamingo.h"
#include "scratch/scratch_training.h"
#include "test_paths.h"
#include "train/tiny_training_run.h"

namespace lavender {
namespace {

TEST(ScratchOpenFlamingo, ConfigDescribesTheRequestedSizesInTheSavedLayout) {
  scratch::ScratchOpenFlamingoOptions o;
  const nlohmann::json j = scratch::scratch_open_flamingo_config(o, 272);
  const auto c = io::config::parse_open_flamingo_config(j, "test");
  EXPECT_EQ(c.perceiver.num_latents, 16);
  EXPECT_EQ(c.perceiver.depth, 2);
  EXPECT_EQ(c.perceiver.heads * c.perceiver.dim_head, 64);
  EXPECT_EQ(io::config::gated_layer_indices(c, 3), (std::vector<int64_t>{0, 1, 2}));
  // OpenFlamingo's tokens on top, in its factory's order.
  EXPECT_EQ(c.eoc_token_id, 269);
  EXPECT_EQ(c.media_token_id, 270);
  EXPECT_EQ(c.pad_token_id, 271);
  EXPECT_EQ(j.at("vision_config").at("patch_size"), 8);
  EXPECT_EQ(j.at("lang_config").at("model_type"), "mosaic_gpt");
  EXPECT_EQ(j.at("lang_config").at("vocab_size"), 272);
  EXPECT_FALSE(j.contains("checkpoint"));  // the saved layout: no release parts
}

TEST(ScratchOpenFlamingo, SizesThatDoNotFitAreNamed) {
  scratch::ScratchOpenFlamingoOptions o;
  o.patch_size = 7;
  EXPECT_THROW(
      {
        try {
          scratch::scratch_open_flamingo_config(o);
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("patch_size"), std::string::npos) << e.what();
          throw;
        }
      },
      Error);
  o = {};
  o.cross_attn_every = 4;  // more than the 3 decoder blocks: no gated layer at all
  EXPECT_THROW(scratch::scratch_open_flamingo_config(o), Error);
  o = {};
  o.num_latents = 0;
  EXPECT_THROW(scratch::scratch_open_flamingo_config(o), Error);
}

TEST(ScratchOpenFlamingo, WeightsFollowTheInitialisationRuleAndTheRelease) {
  test::TempDir dir;
  scratch::ScratchOpenFlamingoOptions o;
  o.seed = 3;
  scratch::write_scratch_open_flamingo(dir.path() + "/m", o);
  auto weights = io::SafetensorsFile::open(dir.path() + "/m/model.safetensors");
  const at::Tensor wte = weights->tensor("lang_encoder.transformer.wte.weight");
  EXPECT_NEAR(wte.std().item<double>(), 0.02, 0.003);
  EXPECT_NEAR(weights->tensor("perceiver.latents").std().item<double>(), 1.0, 0.1);
  // Gates open from the start: a closed one (the release's 0) is a saddle for a model that
  // learns everything from scratch.
  EXPECT_EQ(weights->tensor("gated_cross_attn_layers.0.attn_gate").item<float>(), 1.0f);
  EXPECT_EQ(weights->tensor("gated_cross_attn_layers.2.ff_gate").item<float>(), 1.0f);
  scratch::write_scratch_open_flamingo(dir.path() + "/again", o);
  auto again = io::SafetensorsFile::open(dir.path() + "/again/model.safetensors");
  EXPECT_TRUE(torch::equal(again->tensor("lang_encoder.transformer.wte.weight"), wte));
}

// The tokenizer splits as MPT's does (GPT-2's pattern), so the reply after OpenFlamingo's
// "Short answer:" is its own token and not glued to the colon, and the added tokens are single.
TEST(ScratchOpenFlamingo, ACorpusGivesOneTokenPerPieceAndTheAddedTokens) {
  test::TempDir dir;
  scratch::ScratchOpenFlamingoOptions o;
  o.corpus = {"<image>Question:What colour is the star? Short answer:red<|endofchunk|>",
              "<image>Question:What shape is the red object? Short answer:star<|endofchunk|>"};
  scratch::write_scratch_open_flamingo(dir.path() + "/m", o);
  const auto c = io::config::load_open_flamingo_config(dir.path() + "/m/config.json");
  auto chat = vlm::ChatModel::load(dir.path() + "/m");
  const auto& tok = chat->tokenizer();
  EXPECT_EQ(tok.encode("What colour is the star?", false).size(), 6u);
  EXPECT_EQ(tok.encode(":red", false).size(), 2u);
  EXPECT_EQ(tok.encode("<image>", false), std::vector<int64_t>{c.media_token_id});
  EXPECT_EQ(tok.encode("<|endofchunk|>", false), std::vector<int64_t>{c.eoc_token_id});
  EXPECT_EQ(tok.encode("<PAD>", false), std::vector<int64_t>{*c.pad_token_id});
  EXPECT_EQ(tok.decode(tok.encode("a purple cross!", false)), "a purple cross!");
  const auto words = text::segment_words(tok, tok.encode("Short answer:red", false));
  EXPECT_EQ(words.words, (std::vector<std::string>{"short", "answer", "red"}));
}

class ScratchOpenFlamingoTraining : public ::testing::TestWithParam<const char*> {};

// The folder loads as an OpenFlamingo, answers, and trains with the Lavender loss through
// either reading of its latents.
TEST_P(ScratchOpenFlamingoTraining, LoadsGeneratesAndTrains) {
  test::TempDir dir;
  test::TinyTrainingRun run = test::write_tiny_training_run(dir.path(), 4, "llava", false);
  scratch::ScratchOpenFlamingoOptions o;
  o.image_size = 32;
  run.model = dir.path() + "/scratch";
  scratch::write_scratch_open_flamingo(run.model, o);

  auto model = vlm::load_open_flamingo(run.model);
  EXPECT_EQ(model->gated_layers(), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(model->config().perceiver.num_latents, 16);

  test::expect_answers_and_trains(run, dir.path() + "/out", GetParam());
  // What training saved is the same layout again.
  EXPECT_EQ(vlm::load_open_flamingo(dir.path() + "/out/model")->config().perceiver.num_latents, 16);
}

INSTANTIATE_TEST_SUITE_P(LatentMaps, ScratchOpenFlamingoTraining,
                         ::testing::Values("composed", "square"));

TEST(ScratchOpenFlamingo, InitVlmWritesEitherFamily) {
  test::TempDir dir;
  auto r = test::run_cli("init-vlm --family openflamingo --latents 9 --out " + dir.file("of"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(io::config::load_open_flamingo_config(dir.file("of/config.json")).perceiver.num_latents,
            9);
  r = test::run_cli("init-vlm --out " + dir.file("llava"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(io::read_json_file(dir.file("llava/config.json")).at("model_type"), "llava");
  r = test::run_cli("init-vlm --family mllama --out " + dir.file("x"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("openflamingo"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace lavender
