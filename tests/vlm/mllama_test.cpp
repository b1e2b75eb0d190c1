#include "lavender/vlm/mllama.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lavender/io/safetensors.h"
#include "lavender/parity/parity.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::vlm {
namespace {

MllamaInputs fixture_inputs() {
  auto io = io::SafetensorsFile::open(test::fixture_dir("mllama") + "/io.safetensors");
  MllamaInputs in;
  in.input_ids = io->tensor("input_ids");
  in.pixel_values = io->tensor("pixel_values");
  in.aspect_ratio_ids = io->tensor("aspect_ratio_ids");
  in.aspect_ratio_mask = io->tensor("aspect_ratio_mask");
  in.cross_attention_mask = io->tensor("cross_attention_mask");
  return in;
}

// The fixture's random checkpoint has zero cross-attention gates (transformers' initialisation),
// so images cannot change its logits; open the gates to make the image path matter.
MllamaForConditionalGeneration gated_fixture_model() {
  auto model = load_mllama(test::fixture_dir("mllama"));
  torch::NoGradGuard no_grad;
  for (auto& p : model->named_parameters())
    if (p.key().find("cross_attn_") != std::string::npos &&
        p.key().find("_gate") != std::string::npos)
      p.value().fill_(0.7);
  return model;
}

TEST(Mllama, ParityWithTheReferenceFixture) {
  auto report = parity::run_parity(test::fixture_dir("mllama"));
  EXPECT_EQ(report.exit_code(), parity::kExitPass) << report.format();
  EXPECT_TRUE(report.missing.empty()) << report.format();
  // logits, 4 lm_attentions, 4 text hooks, 3 vision hooks
  EXPECT_EQ(report.comparisons.size(), 12u) << report.format();
}

TEST(Mllama, CrossAttentionMaskRowsWithoutTilesAreOpenAndTheirMlpIsOff) {
  at::Tensor tiles = torch::tensor({0, 0, 1, 0}).view({1, 2, 1, 2});  // token 0 sees nothing
  auto [mask, row] = prepare_cross_attention_mask(tiles, 3, torch::kFloat);
  ASSERT_EQ(mask.sizes(), (std::vector<int64_t>{1, 1, 2, 6}));
  EXPECT_EQ(mask[0][0][0].abs().sum().item<float>(), 0.0f);  // all-masked row: left open
  EXPECT_EQ(mask[0][0][1][0].item<float>(), 0.0f);           // token 1 sees tile 0 ...
  EXPECT_LT(mask[0][0][1][3].item<float>(), -1e38f);         // ... not tile 1
  EXPECT_EQ(row.flatten()[0].item<float>(), 0.0f);
  EXPECT_EQ(row.flatten()[1].item<float>(), 1.0f);
}

TEST(Mllama, ImagesChangeTheAnswerOnlyThroughOpenGates) {
  auto in = fixture_inputs();
  torch::NoGradGuard no_grad;
  auto closed = load_mllama(test::fixture_dir("mllama"));
  auto open = gated_fixture_model();
  at::Tensor with = open->forward(in).logits;
  MllamaInputs other = in;
  other.pixel_values = torch::randn_like(in.pixel_values);
  EXPECT_FALSE(torch::allclose(with, open->forward(other).logits, 1e-4, 1e-4));
  EXPECT_TRUE(torch::allclose(closed->forward(in).logits, closed->forward(other).logits));
}

TEST(Mllama, LossFromTheLabelledPositionsOnlyEqualsTheFullLoss) {
  auto model = gated_fixture_model();
  torch::NoGradGuard no_grad;
  auto in = fixture_inputs();
  const int64_t t = in.input_ids.size(1);
  in.labels = torch::full_like(in.input_ids, -100);
  in.labels.select(1, t - 1).copy_(in.input_ids.select(1, t - 1));
  in.labels.select(1, t - 3).copy_(in.input_ids.select(1, t - 3));
  const MllamaOutput full = model->forward(in);
  in.loss_logits_only = true;
  const MllamaOutput rows = model->forward(in);
  const int64_t b = in.input_ids.size(0), v = full.logits.size(-1);
  ASSERT_EQ(rows.logits.sizes(), (std::vector<int64_t>{2 * b, v}));
  // Per row, positions t - 4 and t - 2 predict the two labels.
  const at::Tensor expected =
      torch::stack({full.logits.select(1, t - 4), full.logits.select(1, t - 2)}, 1)
          .reshape({-1, v});
  EXPECT_TRUE(torch::allclose(rows.logits, expected, 1e-5, 1e-5));
  EXPECT_NEAR(rows.loss.item<double>(), full.loss.item<double>(), 1e-5);
}

TEST(Mllama, CachedDecodingMatchesTheFullForward) {
  auto model = gated_fixture_model();
  auto in = fixture_inputs();
  torch::NoGradGuard no_grad;
  at::Tensor full = model->forward(in).logits;
  const int64_t t = in.input_ids.size(1), split = 6;
  MllamaCache cache = model->make_cache();
  MllamaInputs first = in;
  first.input_ids = in.input_ids.narrow(1, 0, split);
  first.cross_attention_mask = in.cross_attention_mask.narrow(1, 0, split);
  at::Tensor prefix = model->forward(first, nullptr, &cache).logits;
  EXPECT_TRUE(torch::allclose(prefix, full.narrow(1, 0, split), 1e-5, 1e-5));
  for (int64_t i = split; i < t; ++i) {
    MllamaInputs step;
    step.input_ids = in.input_ids.narrow(1, i, 1);
    step.cross_attention_mask = in.cross_attention_mask.narrow(1, i, 1);
    at::Tensor logits = model->forward(step, nullptr, &cache).logits;
    EXPECT_TRUE(torch::allclose(logits.squeeze(1), full.select(1, i), 1e-5, 1e-5)) << i;
  }
}

TEST(Mllama, GenerationWithAndWithoutCacheAgree) {
  auto model = gated_fixture_model();
  MllamaInputs prompt = fixture_inputs();
  GenerationOptions o;
  o.max_new_tokens = 5;
  o.eos_token_ids = {};
  at::Tensor cached = generate_mllama(*model, prompt, o);
  o.use_cache = false;
  at::Tensor plain = generate_mllama(*model, prompt, o);
  EXPECT_EQ(cached.size(1), prompt.input_ids.size(1) + 5);
  EXPECT_TRUE(torch::equal(cached, plain));
}

TEST(Mllama, CapturedCrossAttentionHasGradientsIntoTheVisionModel) {
  auto model = gated_fixture_model();
  auto in = fixture_inputs();
  MllamaCapture capture;
  capture.layers = {-1, 1};
  model->forward(in, &capture);
  ASSERT_EQ(capture.probs.size(), 2u);
  at::Tensor p = capture.probs.at(3);
  EXPECT_EQ(p.sizes(), (std::vector<int64_t>{2, 4, 14, 68}));
  // Row 1's image has 2 real tiles: attention to its padding tiles is masked out.
  EXPECT_LT(p[1].narrow(1, 1, 13).narrow(2, 34, 34).max().item<float>(), 1e-6);
  p.narrow(2, 1, 13).sum().backward();
  at::Tensor g = model->model->vision_model->patch_embedding->weight.grad();
  ASSERT_TRUE(g.defined());
  EXPECT_GT(g.abs().sum().item<float>(), 0.0f);
}

TEST(Mllama, ClearErrors) {
  auto model = load_mllama(test::fixture_dir("mllama"));
  auto in = fixture_inputs();
  torch::NoGradGuard no_grad;
  MllamaInputs no_images = in;
  no_images.pixel_values = at::Tensor();
  EXPECT_THROW(model->forward(no_images), Error);  // image token, no image
  MllamaInputs no_mask = in;
  no_mask.cross_attention_mask = at::Tensor();
  EXPECT_THROW(model->forward(no_mask), Error);
  MllamaCapture bad;
  bad.layers = {7};
  EXPECT_THROW(model->forward(in, &bad), Error);
  try {
    load_mllama(test::fixture_dir("llava"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("LlavaForConditionalGeneration"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lavender::vlm
