#include "lavender/scratch/train_dm.h"

#include <gtest/gtest.h>

#include <fstream>
#include <torch/torch.h>

#include <filesystem>

#include "dm/tiny_shapes.h"
#include "dm/tiny_tokenizer.h"
#include "lavender/dm/extract.h"
#include "lavender/io/image.h"
#include "lavender/train/metrics_log.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::scratch {
namespace {

using namespace dm;  // the trained folder is read back through the teacher's code

namespace fs = std::filesystem;

// A model small enough for unit tests: 16×16 pixels, two levels.
TrainDmOptions tiny_options(const test::TempDir& dir, int64_t steps) {
  TrainDmOptions o;
  o.data = dir.file("shapes/captions.jsonl");
  o.out = dir.file("dm");
  o.steps = steps;
  o.batch = 4;
  o.warmup_steps = 2;
  o.log_every = 10;
  o.show_progress = false;
  o.spec.image_size = 16;
  o.spec.channels = {16, 32};
  o.spec.heads = 2;
  o.spec.text_hidden = 32;
  return o;
}

TEST(TrainDm, WritesAPixelSpaceFolderThatTheTeacherLoads) {
  test::TempDir dir;
  auto samples = test::write_tiny_shapes(dir.file("shapes"), 4, 1);
  auto o = tiny_options(dir, 3);
  o.log_every = 1;
  auto r = train_dm(o);
  EXPECT_FALSE(r.already_trained);
  EXPECT_EQ(r.pairs, 4);
  EXPECT_EQ(r.steps, 3);
  EXPECT_TRUE(std::isfinite(r.last_loss));
  EXPECT_GT(r.unet_parameters, 0);
  EXPECT_EQ(train::read_metrics_log(dir.file("dm/metrics.jsonl")).size(), 3u);
  EXPECT_FALSE(fs::exists(dir.file("dm/vae")));
  for (const char* f : {"unet/config.json", "unet/diffusion_pytorch_model.safetensors",
                        "text_encoder/config.json", "text_encoder/model.safetensors",
                        "scheduler/scheduler_config.json", "tokenizer/vocab.json",
                        "tokenizer/merges.txt", "model_index.json"})
    EXPECT_TRUE(fs::exists(dir.file(std::string("dm/") + f))) << f;

  SdPipeline p = load_sd_pipeline(dir.file("dm"));
  EXPECT_TRUE(p.pixel_space());
  EXPECT_EQ(p.image_size(512), 16);
  // Every caption word is one token of the learnt vocabulary.
  EXPECT_EQ(p.tokenizer->encode("yellow").size(), 1u);
  EXPECT_EQ(p.text_encoder->config().vocab_size, static_cast<int64_t>(p.tokenizer->vocab_size()));
  // Token embeddings start at unit scale, position embeddings at transformers' 0.02: at 0.02 the
  // tokens drowned in the blocks' outputs, the encoder's outputs collapsed to one vector in a few
  // hundred steps and the UNet's cross-attention stayed uniform (train_dm.cpp, init_text_encoder).
  {
    torch::NoGradGuard no_grad;
    const auto& emb = p.text_encoder->text_model->embeddings;
    EXPECT_NEAR(emb->token_embedding->weight.std().item<double>(), 1.0, 0.1);
    EXPECT_LT(emb->position_embedding->weight.std().item<double>(), 0.05);
  }

  // Pixel-space extraction: 32×32 images are resized to the 16×16 sample size; maps come at
  // the recipe's map size, one per content word.
  Recipe recipe = recipe_preset("small-dm");
  recipe.map_size = 8;
  std::vector<at::Tensor> images;
  for (const auto& s : samples)
    images.push_back(prepare_image(io::read_image(dir.file("shapes/" + s.image)), 32).pixels);
  auto maps = extract(p, torch::stack(images).slice(0, 0, 2), {samples[0].caption, "a red"},
                      recipe, 0);
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_EQ(maps[1].words, (std::vector<std::string>{"a", "red"}));
  EXPECT_EQ(maps[1].maps.sizes(), (std::vector<int64_t>{2, 8, 8}));
  EXPECT_EQ(maps[0].maps.size(0), static_cast<int64_t>(maps[0].words.size()));
  EXPECT_TRUE(torch::isfinite(maps[0].maps).all().item<bool>());

  // Re-running into the finished folder does nothing.
  EXPECT_TRUE(train_dm(o).already_trained);
}

TEST(TrainDm, TextDataAddsWholeConversationsAsTexts) {
  test::TempDir dir;
  auto samples = test::write_tiny_shapes(dir.file("shapes"), 2, 4);
  std::ofstream(dir.file("shapes/qa.jsonl"))
      << R"({"id":"q0","image":")" << samples[0].image
      << R"(","conversations":[{"from":"human","value":"<image>\nWhich colour is it?"},)"
      << R"({"from":"gpt","value":"red"}]})" << "\n";
  auto o = tiny_options(dir, 1);
  o.text_data = {dir.file("shapes/qa.jsonl")};
  const auto r = train_dm(o);
  EXPECT_EQ(r.pairs, 3);  // two captions and one conversation
  SdPipeline p = load_sd_pipeline(dir.file("dm"));
  EXPECT_EQ(p.tokenizer->encode("which").size(), 1u);  // the question's words are tokens too
}

TEST(TrainDm, LossDecreasesOnFourImages) {
  test::TempDir dir;
  test::write_tiny_shapes(dir.file("shapes"), 4, 2);
  auto o = tiny_options(dir, 30);
  o.lr = 2e-3;
  auto r = train_dm(o);
  auto rows = train::read_metrics_log(dir.file("dm/metrics.jsonl"));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_LT(r.last_loss, 0.8 * r.first_loss) << r.first_loss << " -> " << r.last_loss;
}

TEST(TrainDm, RefusesAnUnfinishedOutputAndBadSizes) {
  test::TempDir dir;
  test::write_tiny_shapes(dir.file("shapes"), 2, 3);
  auto o = tiny_options(dir, 1);
  fs::create_directories(o.out);
  EXPECT_THROW(train_dm(o), Error);
  fs::remove(o.out);
  o.spec.image_size = 17;  // not a multiple of 2 (one halving)
  try {
    train_dm(o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("multiple of 2"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(o.out));
}

TEST(SdPipeline, PixelSpaceNeedsAThreeChannelUNet) {
  // The sd_tiny fixture without its vae/ folder: its UNet takes 4-channel latents.
  test::TempDir dir;
  const std::string src = test::fixture_dir("sd_tiny");
  for (const char* part : {"unet", "text_encoder", "scheduler"})
    fs::copy(src + "/" + part, dir.file(part), fs::copy_options::recursive);
  test::write_tiny_clip_tokenizer(dir.file("tokenizer.json"));
  try {
    load_sd_pipeline(dir.path(), dir.file("tokenizer.json"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pixel space needs 3 and 3"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lavender::scratch
