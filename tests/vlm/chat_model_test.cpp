#include "lavender/vlm/chat_model.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "cli/run_cli.h"
#include "lavender/train/train_options.h"
#include "lavender/util/error.h"
#include "test_paths.h"
#include "vlm/tiny_vlm_folder.h"

namespace lavender::vlm {
namespace {

class ChatModelTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ChatModelTest, AnswersAndShowsWhereWordsLooked) {
  test::TempDir dir;
  auto model = ChatModel::load(test::write_tiny_vlm_folder(dir.file("model"), GetParam()));
  const io::Image image = test::two_colour_image();
  GenerationOptions o;
  o.max_new_tokens = 6;
  auto reply = model->generate(image, "Is the red dish left?", o);
  EXPECT_LE(reply.reply_ids.size(), 6u);
  EXPECT_EQ(reply.text, model->tokenizer().decode(reply.reply_ids));

  std::vector<int64_t> ids = reply.prompt_ids;
  ids.insert(ids.end(), reply.reply_ids.begin(), reply.reply_ids.end());
  auto attention = model->attention(image, ids, {}, 16);
  const auto t = static_cast<int64_t>(ids.size());
  ASSERT_EQ(attention.maps.dim(), 5);
  EXPECT_EQ(attention.maps.size(2), t);
  EXPECT_EQ(attention.maps.size(3), 16);
  EXPECT_GT(attention.view.width, 0);
  // The first token comes before the image and sees none of it; the last one attends to it.
  EXPECT_EQ(attention.maps.select(2, 0).abs().sum().item<float>(), 0.0f);
  EXPECT_GT(attention.maps.select(2, t - 1).sum().item<float>(), 0.0f);
  auto maps = word_attention(attention, {"red", "DISH"});
  ASSERT_EQ(maps.size(), 2u);
  EXPECT_NEAR(maps[0].max().item<float>(), 1.0f, 1e-5);
  EXPECT_THROW(word_attention(attention, {"green"}), Error);
  EXPECT_THROW(model->attention(image, ids, {99}, 16), Error);
}

INSTANTIATE_TEST_SUITE_P(Families, ChatModelTest, ::testing::Values("llava", "mllama"));

// OpenFlamingo: the prompt starts with <image>, which itself reads the image (its media
// location counts it), and maps come through the Perceiver's attention to patches.
TEST(ChatModel, OpenFlamingoAnswersAndShowsWhereWordsLooked) {
  test::TempDir dir;
  auto model = ChatModel::load(test::write_tiny_vlm_folder(dir.file("model"), "openflamingo"));
  EXPECT_EQ(model->tokenizer().decode(model->prompt_ids("Hi?")),
            "<image>Question:Hi? Short answer:");
  const io::Image image = test::two_colour_image();
  GenerationOptions o;
  o.max_new_tokens = 6;
  auto reply = model->generate(image, "Is the red dish left?", o);
  EXPECT_LE(reply.reply_ids.size(), 6u);
  for (int64_t id : reply.reply_ids) EXPECT_LT(id, 103);
  std::vector<int64_t> ids = reply.prompt_ids;
  ids.insert(ids.end(), reply.reply_ids.begin(), reply.reply_ids.end());
  auto attention = model->attention(image, ids, {}, 16);
  const auto t = static_cast<int64_t>(ids.size());
  EXPECT_EQ(attention.maps.sizes(), (std::vector<int64_t>{2, 2, t, 16, 16}));
  EXPECT_EQ(attention.layers, (std::vector<int64_t>{0, 1}));
  // Each row is a distribution over the 4×4 patches: at S = 4 its mean is 1/16.
  EXPECT_NEAR(model->attention(image, ids, {}, 4).maps.select(2, t - 1).mean().item<float>(),
              1.0f / 16, 1e-5);
  auto maps = word_attention(attention, {"red", "dish"});
  EXPECT_NEAR(maps[0].max().item<float>(), 1.0f, 1e-5);
  EXPECT_TRUE(std::isfinite(model->reply_log_likelihood(image, "Is the red dish left?", "yes")));
}

// Evaluation reads the latents as training did: the two readings of one forward are maps of the
// same shape that differ, and the model starts with the trainer's default.
TEST(ChatModel, OpenFlamingoReadsItsLatentsEitherWay) {
  test::TempDir dir;
  auto model = ChatModel::load(test::write_tiny_vlm_folder(dir.file("model"), "openflamingo"));
  EXPECT_EQ(model->latent_maps(), align::parse_latent_maps(train::TrainOptions().latent_maps));
  const io::Image image = test::two_colour_image();
  const std::vector<int64_t> ids = model->conversation_ids("Is the red dish left?", "red dish").ids;
  const auto t = static_cast<int64_t>(ids.size());
  model->set_latent_maps(align::LatentMaps::composed);
  const at::Tensor composed = model->attention(image, ids, {}, 16).maps;
  model->set_latent_maps(align::LatentMaps::square);
  const at::Tensor square = model->attention(image, ids, {}, 16).maps;
  EXPECT_EQ(composed.sizes(), (std::vector<int64_t>{2, 2, t, 16, 16}));
  EXPECT_EQ(square.sizes(), composed.sizes());
  EXPECT_GT(square.select(2, t - 1).sum().item<float>(), 0.0f);
  EXPECT_FALSE(torch::allclose(square, composed, 1e-3, 1e-5));
  // The same reading twice is the same map: the setting, not chance, made the difference.
  EXPECT_TRUE(torch::allclose(model->attention(image, ids, {}, 16).maps, square));
}

// MiniCPM-V: the fixture's image and question give the reference's greedy reply (the prompt
// expanded into the source picture's and the 3×2 slices' placeholders), and the maps add the two
// views of the image (align/sliced_attention_maps.h).
TEST(ChatModel, MiniCpmVAnswersAsTheReleaseAndShowsWhereWordsLooked) {
  test::TempDir dir;
  const std::string folder = test::write_tiny_vlm_folder(dir.file("model"), "minicpmv");
  auto model = ChatModel::load(folder);
  EXPECT_EQ(model->tokenizer().decode(model->prompt_ids("Hi?")),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n<image>\nHi?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  const std::string png = test::fixture_dir("minicpmv") + "/input.png";
  const io::Image image = io::read_image(png);
  GenerationOptions o;
  o.max_new_tokens = 6;
  auto reply = model->generate(image, "Describe the image.", o);
  EXPECT_EQ(reply.reply_ids, (std::vector<int64_t>{72, 5, 294, 103, 138, 45}));  // greedy_ids

  std::vector<int64_t> ids = reply.prompt_ids;
  ids.insert(ids.end(), reply.reply_ids.begin(), reply.reply_ids.end());
  auto attention = model->attention(image, ids, {}, 16);
  const auto t = static_cast<int64_t>(ids.size());
  EXPECT_EQ(attention.maps.sizes(), (std::vector<int64_t>{2, 4, t, 16, 16}));
  EXPECT_EQ(attention.view.width, 20);  // the source picture
  EXPECT_EQ(attention.maps.select(2, 0).abs().sum().item<float>(), 0.0f);
  EXPECT_GT(attention.maps.select(2, t - 1).sum().item<float>(), 0.0f);
  auto maps = word_attention(attention, {"describe", "image"});
  EXPECT_NEAR(maps[1].max().item<float>(), 1.0f, 1e-5);
  EXPECT_TRUE(std::isfinite(model->reply_log_likelihood(image, "Describe the image.", "red left")));
}

// MiniCPM-V's resampled queries are read either way too (align/sliced_attention_maps.h).
TEST(ChatModel, MiniCpmVReadsItsQueriesEitherWay) {
  test::TempDir dir;
  auto model = ChatModel::load(test::write_tiny_vlm_folder(dir.file("model"), "minicpmv"));
  const io::Image image = io::read_image(test::fixture_dir("minicpmv") + "/input.png");
  const std::vector<int64_t> ids = model->conversation_ids("Describe the image.", "red left").ids;
  const at::Tensor composed = model->attention(image, ids, {}, 8).maps;
  model->set_latent_maps(align::LatentMaps::square);
  const at::Tensor square = model->attention(image, ids, {}, 8).maps;
  EXPECT_EQ(square.sizes(), composed.sizes());
  EXPECT_FALSE(torch::allclose(square, composed, 1e-3, 1e-5));
}

// The fixture's picture is sliced: its source view, its slices' view and their sum are three
// different maps of the same attention.
TEST(ChatModel, MiniCpmVReadsTheViewsItIsAskedFor) {
  test::TempDir dir;
  auto model = ChatModel::load(test::write_tiny_vlm_folder(dir.file("model"), "minicpmv"));
  const io::Image image = io::read_image(test::fixture_dir("minicpmv") + "/input.png");
  const std::vector<int64_t> ids = model->conversation_ids("Describe the image.", "red left").ids;
  const at::Tensor both = model->attention(image, ids, {}, 8).maps;
  model->set_sliced_views(align::SlicedViews::source);
  const at::Tensor source = model->attention(image, ids, {}, 8).maps;
  model->set_sliced_views(align::SlicedViews::slices);
  const at::Tensor slices = model->attention(image, ids, {}, 8).maps;
  EXPECT_EQ(source.sizes(), both.sizes());
  EXPECT_FALSE(torch::allclose(source, both, 1e-3, 1e-5));
  EXPECT_FALSE(torch::allclose(slices, both, 1e-3, 1e-5));
  EXPECT_FALSE(torch::allclose(source, slices, 1e-3, 1e-5));
}

TEST(ChatModel, PromptsFollowTheFamilysChatFormat) {
  test::TempDir dir;
  auto llava = ChatModel::load(test::write_tiny_vlm_folder(dir.file("llava"), "llava"));
  EXPECT_EQ(llava->tokenizer().decode(llava->prompt_ids("Hi?")), "USER: <image>\nHi? ASSISTANT:");
  auto mllama = ChatModel::load(test::write_tiny_vlm_folder(dir.file("mllama"), "mllama"));
  EXPECT_EQ(mllama->tokenizer().decode(mllama->prompt_ids("Hi?")),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n<|image|>Hi?<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_THROW(ChatModel::load(test::fixture_dir("sd_tiny") + "/unet"), Error);
}

TEST(ChatModel, GenerateCommandWritesTheAttentionFigure) {
  test::TempDir dir;
  const std::string model = test::write_tiny_vlm_folder(dir.file("model"), "mllama");
  io::write_png(dir.file("img.png"), test::two_colour_image());
  auto r = test::run_cli("generate --model " + model + " --image " + dir.file("img.png") +
                         " --prompt 'a red dish' --max-new-tokens 4 --show-attention red,dish"
                         " --out " +
                         dir.file("fig.png"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(io::read_image(dir.file("fig.png")).width, 8 + 3 * (192 + 8));
  r = test::run_cli("generate --model " + model + " --image " + dir.file("img.png") +
                    " --prompt hi --show-attention red");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("--out"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace lavender::vlm
