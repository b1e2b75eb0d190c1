#include "lavender/dm/extract.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "dm/tiny_tokenizer.h"
#include "lavender/io/safetensors.h"
#include "lavender/text/clip_tokenizer.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::dm {
namespace {

std::string sd_tiny() {
  return test::fixture_dir("sd_tiny");
}

// Loading the pipeline is the slow part; share one across tests (extract leaves it unchanged).
SdPipeline& pipeline() {
  static SdPipeline* p = [] {
    static test::TempDir dir;
    test::write_tiny_clip_tokenizer(dir.file("tokenizer.json"));
    return new SdPipeline(load_sd_pipeline(sd_tiny(), dir.file("tokenizer.json")));
  }();
  return *p;
}

// The fixture's latents are 16×16: factors 1 and 2 exist (SD's 4 does not).
Recipe tiny_recipe() {
  Recipe r;
  r.name = "tiny";
  r.layers = {{2, 0.7}, {1, 0.3}};
  r.map_size = 8;
  return r;
}

at::Tensor fixture_images() {
  return io::SafetensorsFile::open(sd_tiny() + "/io.safetensors")->tensor("image");
}

const std::vector<std::string> kTexts = {"a cat, on the dog!", "dog"};

// The pipeline loads straight into the compute dtype, and its maps stay close to fp32's.
TEST(Extract, LoadsStraightIntoTheComputeDtype) {
  test::TempDir dir;
  test::write_tiny_clip_tokenizer(dir.file("tokenizer.json"));
  SdPipeline bf16 = load_sd_pipeline(sd_tiny(), dir.file("tokenizer.json"), at::kBFloat16);
  EXPECT_EQ(bf16.dtype(), at::kBFloat16);
  for (const auto& p : bf16.unet->parameters()) EXPECT_EQ(p.scalar_type(), at::kBFloat16);
  for (const auto& p : bf16.text_encoder->parameters()) EXPECT_EQ(p.scalar_type(), at::kBFloat16);
  for (const auto& p : bf16.vae->parameters()) EXPECT_EQ(p.scalar_type(), at::kBFloat16);
  auto a = extract(pipeline(), fixture_images(), kTexts, tiny_recipe(), 7);
  auto b = extract(bf16, fixture_images(), kTexts, tiny_recipe(), 7);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i)
    EXPECT_LT((a[i].maps - b[i].maps.to(at::kFloat)).abs().max().item<float>(), 0.1f);
}

TEST(Extract, ShapesWordsAndRange) {
  auto out = extract(pipeline(), fixture_images(), kTexts, tiny_recipe(), 7);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].words, (std::vector<std::string>{"a", "cat", "on", "the", "dog"}));
  EXPECT_EQ(out[0].token_spans.front(), (std::pair<int, int>{1, 2}));
  EXPECT_FALSE(out[0].truncated);
  EXPECT_EQ(out[1].words, (std::vector<std::string>{"dog"}));
  for (const auto& s : out) {
    ASSERT_EQ(s.maps.sizes(), (std::vector<int64_t>{static_cast<int64_t>(s.words.size()), 8, 8}));
    EXPECT_GE(s.maps.min().item<float>(), 0.0f);
    EXPECT_LE(s.maps.max().item<float>(), 1.0f);
    for (int64_t w = 0; w < s.maps.size(0); ++w)
      if (s.maps[w].max().item<float>() > s.maps[w].min().item<float>()) {
        EXPECT_FLOAT_EQ(s.maps[w].max().item<float>(), 1.0f);
      }
  }
}

TEST(Extract, DeterministicForASeedAndIndependentOfTheBatch) {
  Recipe r = tiny_recipe();
  r.timesteps = {100, 500};
  r.samples_per_timestep = 2;
  auto a = extract(pipeline(), fixture_images(), kTexts, r, 3);
  auto b = extract(pipeline(), fixture_images(), kTexts, r, 3);
  auto c = extract(pipeline(), fixture_images(), kTexts, r, 4);
  EXPECT_TRUE(torch::equal(a[0].maps, b[0].maps));
  EXPECT_FALSE(torch::allclose(a[0].maps, c[0].maps));
  for (int64_t i = 0; i < 2; ++i) {
    auto one = extract(pipeline(), fixture_images().narrow(0, i, 1),
                       {kTexts[static_cast<size_t>(i)]}, r, 3);
    EXPECT_TRUE(torch::allclose(one[0].maps, a[static_cast<size_t>(i)].maps, 1e-4, 1e-5));
  }
}

TEST(Extract, TokenIdsBeyondTheEncoderVocabularyAreAClearError) {
  SdPipeline& p = pipeline();
  auto tiny = std::move(p.tokenizer);
  p.tokenizer =
      text::load_clip_tokenizer(test::shared_dir() + "/data/clip/bpe_simple_vocab_16e6.txt.gz");
  try {
    extract(p, fixture_images(), kTexts, tiny_recipe(), 0);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vocabulary (1000 ids)"), std::string::npos) << e.what();
  }
  p.tokenizer = std::move(tiny);
}

TEST(Extract, RecipesSelectLayersByFactor) {
  auto layers = pipeline().unet->cross_attention_layers(16, 16);
  try {
    select_layers(recipe_preset("single-pass"), layers);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("factor 4"), std::string::npos) << e.what();
  }
  EXPECT_EQ(select_layers(recipe_preset("daam"), layers).size(), 6u);
  EXPECT_THROW(select_layers(recipe_preset("p2p"), layers), Error);  // only the mid block is ≥ 2
  auto sel = select_layers(tiny_recipe(), layers);
  ASSERT_EQ(sel.size(), 6u);
  EXPECT_EQ(sel[0].name, "mid_block.attentions.0.transformer_blocks.0.attn2");
  EXPECT_DOUBLE_EQ(sel[0].weight, 0.7);
  EXPECT_THROW(recipe_preset("nope"), Error);
  EXPECT_EQ(recipe_to_json(recipe_preset("daam"))["timesteps"].size(), 4u);
}

// The pipeline calls the VAE and UNet exactly as the diffusers reference did.
TEST(Extract, MatchesTheReferenceCrossAttention) {
  auto io = io::SafetensorsFile::open(sd_tiny() + "/io.safetensors");
  torch::NoGradGuard no_grad;
  at::Tensor latents = latents_from_image(*pipeline().vae, io->tensor("image"));
  EXPECT_TRUE(torch::allclose(latents, io->tensor("latents"), 1e-4, 1e-4));
  std::vector<std::string> names;
  for (const auto& l : pipeline().unet->cross_attention_layers(16, 16)) names.push_back(l.name);
  auto probs =
      noised_cross_attention(pipeline(), io->tensor("latents"), io->tensor("noise"),
                             io->tensor("timesteps"), io->tensor("encoder_hidden_states"), names);
  ASSERT_EQ(probs.size(), 6u);
  for (const auto& [name, p] : probs) {
    at::Tensor ref = io->tensor("attn2." + name + ".processor");
    EXPECT_LT((p.reshape(ref.sizes()) - ref).abs().max().item<double>(), 1e-5) << name;
  }
}

TEST(Extract, PrepareImageResizesAndCentreCrops) {
  io::Image img;
  img.width = 100;
  img.height = 50;
  img.channels = 3;
  img.pixels.assign(100 * 50 * 3, 255);
  auto p = prepare_image(img, 25);
  EXPECT_EQ(p.pixels.sizes(), (std::vector<int64_t>{3, 25, 25}));
  EXPECT_NEAR(p.pixels.min().item<float>(), 1.0f, 1e-5);
  EXPECT_EQ(p.crop.x, 24);  // (50 - 25) / 2 = 12 resized pixels, floored
  EXPECT_EQ(p.crop.y, 0);
  EXPECT_EQ(p.crop.width, 50);
  EXPECT_EQ(p.crop.height, 50);
  EXPECT_TRUE(is_content_word("café"));
  EXPECT_FALSE(is_content_word(",!"));
}

}  // namespace
}  // namespace lavender::dm
