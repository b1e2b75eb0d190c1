#include "lavender/scratch/scratch_llava.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "lavender/io/config/llava.h"
#include "lavender/io/json_file.h"
#include "lavender/io/safetensors.h"
#include "lavender/train/trainer.h"
#include "lavender/util/error.h"
#include "lavender/vlm/chat_model.h"
#include "test_paths.h"
#include "train/tiny_training_run.h"

namespace lavender {
namespace {

TEST(ScratchLlava, ConfigDescribesTheRequestedSizes) {
  scratch::ScratchLlavaOptions o;
  const auto c = io::config::parse_llava_config(scratch::scratch_llava_config(o), "test");
  EXPECT_EQ(c.vision_config.image_size, 64);
  EXPECT_EQ(c.vision_config.patch_size, 8);
  EXPECT_EQ(c.image_seq_length, 64);
  EXPECT_EQ(c.text_config.num_hidden_layers, 3);
  EXPECT_EQ(c.vision_config.num_hidden_layers, 2);
  EXPECT_EQ(c.vision_feature_layers, std::vector<int64_t>{-1});
  EXPECT_EQ(c.image_token_index, 263);
}

TEST(ScratchLlava, SizesThatDoNotFitAreNamed) {
  scratch::ScratchLlavaOptions o;
  o.patch_size = 7;
  EXPECT_THROW(
      {
        try {
          scratch::scratch_llava_config(o);
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("patch_size"), std::string::npos) << e.what();
          throw;
        }
      },
      Error);
  o = {};
  o.text_heads = 3;
  EXPECT_THROW(scratch::scratch_llava_config(o), Error);
}

TEST(ScratchLlava, WeightsFollowTheInitialisationRule) {
  test::TempDir dir;
  scratch::ScratchLlavaOptions o;
  o.seed = 3;
  scratch::write_scratch_llava(dir.path() + "/m", o);
  auto weights = io::SafetensorsFile::open(dir.path() + "/m/model.safetensors");
  const at::Tensor embed = weights->tensor("model.language_model.embed_tokens.weight");
  EXPECT_NEAR(embed.std().item<double>(), 0.02, 0.002);
  EXPECT_EQ(weights->tensor("model.multi_modal_projector.linear_1.bias").abs().max().item<float>(),
            0.0f);
  const at::Tensor norm = weights->tensor("model.language_model.norm.weight");
  EXPECT_TRUE(torch::equal(norm, torch::ones_like(norm)));
  // The same seed gives the same weights.
  scratch::write_scratch_llava(dir.path() + "/again", o);
  auto again = io::SafetensorsFile::open(dir.path() + "/again/model.safetensors");
  EXPECT_TRUE(torch::equal(again->tensor("model.language_model.embed_tokens.weight"), embed));
}

TEST(ScratchLlava, LoadsGeneratesAndLearnsWithTheTrainer) {
  test::TempDir dir;
  test::TinyTrainingRun run = test::write_tiny_training_run(dir.path(), 4, "llava", false);
  scratch::ScratchLlavaOptions o;
  o.image_size = 32;
  o.patch_size = 8;
  run.model = dir.path() + "/scratch";
  scratch::write_scratch_llava(run.model, o);

  auto chat = vlm::ChatModel::load(run.model);
  vlm::GenerationOptions g;
  g.max_new_tokens = 3;
  const vlm::ChatReply reply = chat->generate(test::two_colour_image(), "Colours?", g);
  EXPECT_LE(reply.reply_ids.size(), 3u);

  train::TrainOptions t;
  t.model = run.model;
  t.data = run.data;
  t.images = run.images;
  t.maps = run.maps;
  t.out = dir.path() + "/out";
  t.max_steps = 40;
  t.batch_size = 4;
  t.lr.lr = 3e-3;
  t.lr.warmup_steps = 0;
  t.freeze.clear();  // from scratch: the vision tower learns too
  t.lambda.lambda = 1.0;
  t.save_every = 1000;
  t.figure_every = 0;
  const train::TrainSummary s = train::Trainer(t).run();
  ASSERT_EQ(s.history.size(), 40u);
  EXPECT_LT(s.history.back().text, 0.5 * s.history.front().text);
  EXPECT_GT(s.history.back().words, 0);
  EXPECT_TRUE(std::isfinite(s.history.back().attention));
}

TEST(ScratchLlava, ACorpusGivesOneTokenPerPieceAndIdsStayConsistent) {
  test::TempDir dir;
  scratch::ScratchLlavaOptions o;
  o.corpus = {"USER: <image>\nWhat colour is the star? ASSISTANT: red</s>",
              "USER: <image>\nWhat shape is the red object? ASSISTANT: star</s>"};
  scratch::write_scratch_llava(dir.path() + "/m", o);
  const auto config = io::config::load_llava_config(dir.path() + "/m/config.json");
  EXPECT_EQ(config.text_config.vocab_size % 8, 0);
  auto chat = vlm::ChatModel::load(dir.path() + "/m");
  const auto& tok = chat->tokenizer();
  // " colour", " star", "?" and " ASSISTANT" are single tokens; "<image>" is the image token.
  const std::vector<int64_t> ids = tok.encode("What colour is the star?", false);
  EXPECT_EQ(ids.size(), 6u);
  EXPECT_EQ(tok.encode(" ASSISTANT", false).size(), 1u);
  EXPECT_EQ(tok.encode("<image>", false), std::vector<int64_t>{config.image_token_index});
  EXPECT_EQ(tok.encode("</s>", false),
            std::vector<int64_t>{config.text_config.vocab_size - 3});  // eos
  EXPECT_EQ(tok.decode(tok.encode("a purple cross!", false)), "a purple cross!");  // unseen words
}

}  // namespace
}  // namespace lavender
