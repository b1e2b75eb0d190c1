#include <gtest/gtest.h>
#include <torch/torch.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "lavender/io/json_file.h"
#include "lavender/io/safetensors.h"
#include "lavender/parity/parity.h"
#include "lavender/util/error.h"
#include "lavender/vlm/generate.h"
#include "lavender/vlm/llava.h"
#include "test_paths.h"
#include "vlm/tiny_models.h"

namespace lavender::vlm {
namespace {

constexpr int64_t kImage = 49;  // tiny_llava_config's image token

// [B, T] prompts: `before` text tokens, 16 image tokens, `after` text tokens.
at::Tensor prompt(int64_t before, int64_t after, int64_t seed) {
  torch::manual_seed(seed);
  return torch::cat({torch::randint(1, 40, {1, before}), torch::full({1, 16}, kImage),
                     torch::randint(1, 40, {1, after})},
                    1);
}

TEST(Llava, ParityWithTheReferenceFixture) {
  auto report = parity::run_parity(test::fixture_dir("llava"));
  EXPECT_EQ(report.exit_code(), parity::kExitPass) << report.format();
  EXPECT_TRUE(report.missing.empty()) << report.format();
  // logits, loss, image_hidden_states, 3 lm_attentions, 6 hooks, generate_row0
  EXPECT_EQ(report.comparisons.size(), 13u) << report.format();
}

// Loading straight into bf16 gives the fp32 model's weights rounded to bf16, and its logits
// within bf16's precision; loading fp32 adopts the file's tensors without a copy.
TEST(Llava, LoadsStraightIntoTheTargetDtype) {
  auto full = load_llava(test::fixture_dir("llava"));
  auto narrow = load_llava(test::fixture_dir("llava"), torch::kBFloat16);
  auto full_params = full->named_parameters();
  for (const auto& p : narrow->named_parameters()) {
    ASSERT_EQ(p.value().scalar_type(), torch::kBFloat16) << p.key();
    EXPECT_TRUE(at::equal(p.value(), full_params[p.key()].to(torch::kBFloat16))) << p.key();
  }
  const auto& c = full->config();
  LlavaInputs in;
  in.input_ids = torch::cat({torch::randint(1, 20, {1, 3}),
                             torch::full({1, full->tokens_per_image()}, c.image_token_index),
                             torch::randint(1, 20, {1, 4})},
                            1);
  const int64_t side = c.vision_config.image_size;
  in.pixel_values = torch::randn({1, 3, side, side});
  torch::NoGradGuard no_grad;
  const at::Tensor a = full->forward(in).logits;
  const at::Tensor b = narrow->forward(in).logits.to(torch::kFloat);
  EXPECT_LT((a - b).abs().max().item<float>(), 0.05f * a.abs().max().item<float>());
}

// Two rows of 3 text, 16 image and 5 text tokens; row 1 ends in one pad.
LlavaInputs two_rows_one_padded() {
  LlavaInputs in;
  in.input_ids = torch::cat({prompt(3, 5, 1), prompt(3, 5, 2)}, 0);
  in.pixel_values = torch::randn({2, 3, 16, 16});
  in.attention_mask = torch::ones_like(in.input_ids);
  in.attention_mask[1][23] = 0;
  return in;
}

TEST(Llava, CapturedBlockIsTheTextByImageSliceOfTheFullMatrixAndHasGradients) {
  torch::manual_seed(0);
  LlavaForConditionalGeneration model(test::tiny_llava_config());
  LlavaInputs in = two_rows_one_padded();

  LlavaCapture full;
  full.full_matrix = true;
  full.layers = {0, 1, 2};
  at::Tensor reference_logits;
  {
    torch::NoGradGuard no_grad;
    reference_logits = model->forward(in, &full).logits;
  }

  LlavaCapture block;
  block.layers = {-1, 1};
  auto out = model->forward(in, &block);
  EXPECT_TRUE(torch::allclose(out.logits, reference_logits, 1e-5, 1e-5));
  ASSERT_EQ(block.probs.size(), 2u);
  EXPECT_EQ(block.probs.count(0), 0u);
  EXPECT_EQ(block.query_begin, 19);
  ASSERT_EQ(block.probs.at(2).sizes(), (std::vector<int64_t>{2, 4, 5, 16}));
  for (int64_t l : {1, 2})
    EXPECT_TRUE(
        torch::allclose(block.probs.at(l), full.probs.at(l).slice(2, 19).slice(3, 3, 19), 0, 1e-7));
  EXPECT_TRUE(torch::equal(block.text_rows,
                           torch::tensor({{1, 1, 1, 1, 1}, {1, 1, 1, 1, 0}}).to(torch::kBool)));

  // The block carries gradients back to the language model and through the image features
  // into the vision tower.
  (block.probs.at(1).sum() + block.probs.at(2).pow(2).sum()).backward();
  auto grad_sum = [](const at::Tensor& w) {
    return w.grad().defined() ? w.grad().abs().sum().item<double>() : 0.0;
  };
  auto& lm = model->model->language_model;
  EXPECT_GT(grad_sum(lm->layers[1]->as<LlamaDecoderLayer>()->self_attn->k_proj->weight), 0);
  EXPECT_GT(grad_sum(model->model->multi_modal_projector->linear_1->weight), 0);
  EXPECT_GT(grad_sum(model->model->vision_tower->embeddings->patch_embedding->weight), 0);
}

TEST(Llava, LossFromTheLabelledPositionsOnlyEqualsTheFullLossWithItsGradients) {
  torch::manual_seed(0);
  LlavaForConditionalGeneration model(test::tiny_llava_config());
  LlavaInputs in = two_rows_one_padded();
  // Answers: the last three tokens of row 0, two of row 1 (its last is padding).
  in.labels = torch::full_like(in.input_ids, -100);
  in.labels[0].slice(0, 21).copy_(in.input_ids[0].slice(0, 21));
  in.labels[1].slice(0, 21, 23).copy_(in.input_ids[1].slice(0, 21, 23));

  auto gradients = [&](const at::Tensor& loss) {
    model->zero_grad();
    loss.backward();
    std::vector<at::Tensor> g;
    for (const auto& p : model->parameters())
      g.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
    return g;
  };
  LlavaOutput full = model->forward(in);
  const auto full_grads = gradients(full.loss);
  in.loss_logits_only = true;
  LlavaOutput rows = model->forward(in);
  const auto row_grads = gradients(rows.loss);

  // Five labelled next tokens: positions 20-22 of row 0 and 20-21 of row 1 (flat 24 + 20, 21).
  ASSERT_EQ(rows.logits.sizes(), (std::vector<int64_t>{5, 50}));
  EXPECT_TRUE(torch::allclose(
      rows.logits,
      full.logits.reshape({-1, 50}).index_select(0, torch::tensor({20, 21, 22, 44, 45})), 1e-6,
      1e-6));
  EXPECT_NEAR(rows.loss.item<double>(), full.loss.item<double>(), 1e-6);
  ASSERT_EQ(row_grads.size(), full_grads.size());
  for (size_t i = 0; i < row_grads.size(); ++i)
    EXPECT_TRUE(torch::allclose(row_grads[i], full_grads[i], 1e-5, 1e-7)) << "parameter " << i;
}

TEST(Llava, CaptureGathersEachRowsImageColumnsWhenRowsAreShifted) {
  auto c = test::tiny_llava_config();
  torch::manual_seed(1);
  LlavaForConditionalGeneration model(c);
  torch::NoGradGuard no_grad;
  LlavaInputs in;
  // Row 1 is left-padded by two: its image starts at 5 instead of 3.
  at::Tensor a = prompt(3, 6, 3), b = prompt(3, 4, 4);
  in.input_ids = torch::cat({a, torch::cat({torch::zeros({1, 2}, torch::kLong), b}, 1)}, 0);
  in.attention_mask = torch::ones_like(in.input_ids);
  in.attention_mask[1][0] = 0;
  in.attention_mask[1][1] = 0;
  in.position_ids = position_ids_from_mask(in.attention_mask);
  in.pixel_values = torch::randn({2, 3, 16, 16});
  LlavaCapture full, block;
  full.full_matrix = true;
  full.layers = block.layers = {1};
  model->forward(in, &full);
  model->forward(in, &block);
  EXPECT_EQ(block.query_begin, 19);
  at::Tensor p = block.probs.at(1);
  ASSERT_EQ(p.sizes(), (std::vector<int64_t>{2, 4, 6, 16}));
  at::Tensor f = full.probs.at(1);
  EXPECT_TRUE(torch::allclose(p[0], f[0].slice(1, 19).slice(2, 3, 19), 0, 1e-7));
  EXPECT_TRUE(torch::allclose(p[1], f[1].slice(1, 19).slice(2, 5, 21), 0, 1e-7));
  // Row 1's first two rows (positions 19, 20) are its own image tokens, not text.
  EXPECT_FALSE(block.text_rows[1][0].item<bool>());
  EXPECT_FALSE(block.text_rows[1][1].item<bool>());
  EXPECT_TRUE(block.text_rows[1][2].item<bool>());
}

TEST(Llava, FullStrategyAndSeveralFeatureLayers) {
  auto c = test::tiny_llava_config();
  c.vision_feature_select_strategy = io::config::VisionFeatureSelectStrategy::kFull;
  c.vision_feature_layers = {0, -1};  // the embeddings and the last layer, concatenated
  torch::manual_seed(5);
  LlavaForConditionalGeneration model(c);
  torch::NoGradGuard no_grad;
  EXPECT_EQ(model->tokens_per_image(), 17);
  EXPECT_EQ(model->model->multi_modal_projector->linear_1->weight.size(1), 32);
  at::Tensor pixels = torch::randn({1, 3, 16, 16});
  at::Tensor features = model->image_features(pixels);
  ASSERT_EQ(features.sizes(), (std::vector<int64_t>{1, 17, 32}));
  auto states = model->model->vision_tower->forward(pixels).hidden_states;
  ASSERT_EQ(states.size(), 3u);
  at::Tensor expected = model->model->multi_modal_projector(torch::cat({states[0], states[2]}, -1));
  EXPECT_TRUE(torch::allclose(features, expected, 1e-6, 1e-6));
  // 17 image tokens now fit one image.
  LlavaInputs in;
  in.input_ids = torch::cat({torch::tensor({{1, 2}}), torch::full({1, 17}, kImage)}, 1);
  in.pixel_values = pixels;
  EXPECT_EQ(model->forward(in).logits.size(1), 19);
}

TEST(Llava, ImageTokenCountsMustMatchTheImages) {
  auto c = test::tiny_llava_config();
  LlavaForConditionalGeneration model(c);
  torch::NoGradGuard no_grad;
  LlavaInputs in;
  in.input_ids = prompt(2, 2, 5);
  in.pixel_values = torch::randn({2, 3, 16, 16});  // two images, one image's worth of tokens
  try {
    model->forward(in);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("16 image tokens but 2 image(s) give 32"),
              std::string::npos)
        << e.what();
  }
  in.input_ids = torch::randint(1, 40, {1, 8});
  in.pixel_values = torch::randn({1, 3, 16, 16});
  EXPECT_THROW(model->forward(in), Error);  // no image token
  in.input_ids = prompt(2, 2, 6);
  in.pixel_values = at::Tensor();
  EXPECT_THROW(model->forward(in), Error);  // image tokens without an image
}

TEST(Llava, UnsupportedArchitectureIsNamed) {
  test::TempDir dir;
  std::ofstream(dir.file("config.json"))
      << R"({"architectures": ["Qwen2VLForConditionalGeneration"], "model_type": "qwen2_vl"})";
  try {
    load_llava(dir.path());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Qwen2VLForConditionalGeneration"), std::string::npos);
  }
}

TEST(Llava, CachedDecodingMatchesTheFullForwardAndGreedyGenerationWithout) {
  auto model = load_llava(test::fixture_dir("llava"));
  torch::NoGradGuard no_grad;
  auto fixture = parity::load_fixture(test::fixture_dir("llava"));
  at::Tensor ids = fixture.tensor("input_ids").narrow(0, 0, 1);
  at::Tensor pixels = fixture.tensor("pixel_values").narrow(0, 0, 1);

  GenerationOptions o;
  o.max_new_tokens = 6;
  o.eos_token_ids = {2};
  at::Tensor cached = generate_llava(*model, pixels, ids, at::Tensor(), o);
  o.use_cache = false;
  at::Tensor uncached = generate_llava(*model, pixels, ids, at::Tensor(), o);
  EXPECT_TRUE(torch::equal(cached, uncached));

  // Logits of the decode steps against one forward over the whole generated sequence.
  KvCache cache = model->make_cache();
  LlavaInputs prefill;
  prefill.input_ids = ids;
  prefill.pixel_values = pixels;
  model->forward(prefill, nullptr, &cache);
  LlavaInputs whole;
  whole.input_ids = cached;
  whole.pixel_values = pixels;
  at::Tensor reference = model->forward(whole).logits;
  for (int64_t t = ids.size(1); t < cached.size(1); ++t) {
    LlavaInputs step;
    step.input_ids = cached.slice(1, t, t + 1);
    at::Tensor logits = model->forward(step, nullptr, &cache).logits;
    EXPECT_TRUE(torch::allclose(logits, reference.slice(1, t, t + 1), 1e-5, 1e-5)) << t;
  }
}

TEST(Generate, SamplingIsReproducibleFromTheSeedAndTopPOneTokenIsGreedy) {
  auto model = load_llava(test::fixture_dir("llava"));
  auto fixture = parity::load_fixture(test::fixture_dir("llava"));
  at::Tensor ids = fixture.tensor("input_ids").narrow(0, 0, 1);
  at::Tensor pixels = fixture.tensor("pixel_values").narrow(0, 0, 1);
  GenerationOptions o;
  o.max_new_tokens = 5;
  o.do_sample = true;
  o.temperature = 5.0;  // flat enough that different seeds differ
  o.seed = 11;
  at::Tensor a = generate_llava(*model, pixels, ids, at::Tensor(), o);
  at::Tensor b = generate_llava(*model, pixels, ids, at::Tensor(), o);
  EXPECT_TRUE(torch::equal(a, b));
  o.seed = 12;
  EXPECT_FALSE(torch::equal(a, generate_llava(*model, pixels, ids, at::Tensor(), o)));
  // A tiny top-p keeps only the most likely token: sampling becomes greedy.
  o.top_p = 1e-6;
  GenerationOptions greedy;
  greedy.max_new_tokens = 5;
  EXPECT_TRUE(torch::equal(generate_llava(*model, pixels, ids, at::Tensor(), o),
                           generate_llava(*model, pixels, ids, at::Tensor(), greedy)));
}

TEST(Generate, StopsAtEndOfSequenceAndPadsFinishedRows) {
  // A fake model: row 0 emits eos (2) at once, row 1 counts up.
  int64_t calls = 0;
  StepFunction step = [&](const at::Tensor& ids, const at::Tensor&, const at::Tensor&, bool,
                          KvCache*) {
    ++calls;
    at::Tensor logits = torch::zeros({2, 10});
    logits[0][2] = 1;
    logits[1][3 + calls] = 1;
    (void)ids;
    return logits;
  };
  GenerationOptions o;
  o.max_new_tokens = 4;
  o.eos_token_ids = {2};
  o.pad_token_id = 0;
  o.use_cache = false;
  at::Tensor out = generate(step, nullptr, torch::ones({2, 1}, torch::kLong), at::Tensor(), o);
  EXPECT_TRUE(torch::equal(out, torch::tensor({{1, 2, 0, 0, 0}, {1, 4, 5, 6, 7}})));
  EXPECT_EQ(load_generation_defaults(test::fixture_dir("llava")).eos_token_ids,
            std::vector<int64_t>{2});
}

}  // namespace
}  // namespace lavender::vlm

namespace lavender::vlm {
namespace {

// Writes `model`'s parameters under their transformers-5 names, split over two shards with an
// index, and `config` as config.json.
void save_sharded(const LlavaForConditionalGeneration& model, const nlohmann::json& config,
                  const std::string& dir) {
  std::vector<std::pair<std::string, at::Tensor>> a, b;
  nlohmann::json index;
  for (const auto& p : model->named_parameters()) {
    bool first = p.key().rfind("model.vision_tower.", 0) == 0;
    (first ? a : b).emplace_back(p.key(), p.value().detach());
    index["weight_map"][p.key()] =
        first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  }
  io::save_safetensors(dir + "/model-00001-of-00002.safetensors", a);
  io::save_safetensors(dir + "/model-00002-of-00002.safetensors", b);
  std::ofstream(dir + "/model.safetensors.index.json") << index.dump();
  std::ofstream(dir + "/config.json") << config.dump();
}

TEST(Llava, LoadsTheNewKeyLayoutShardedAndTiedHeads) {
  const std::string fixture = test::fixture_dir("llava");
  auto reference = load_llava(fixture);
  auto f = parity::load_fixture(fixture);
  LlavaInputs in;
  in.input_ids = f.tensor("input_ids");
  in.pixel_values = f.tensor("pixel_values");
  torch::NoGradGuard no_grad;
  at::Tensor expected = reference->forward(in).logits;
  nlohmann::json config = io::read_json_file(fixture + "/config.json");

  test::TempDir dir;
  save_sharded(reference, config, dir.path());
  EXPECT_TRUE(torch::allclose(load_llava(dir.path())->forward(in).logits, expected, 0, 1e-6));

  // Tied: no lm_head in the model; the head is the embedding matrix.
  test::TempDir tied_dir;
  config["tie_word_embeddings"] = true;
  save_sharded(reference, config, tied_dir.path());  // the saved lm_head copy is ignored
  auto tied = load_llava(tied_dir.path());
  EXPECT_TRUE(tied->lm_head.is_empty());
  reference->lm_head->weight.copy_(reference->model->language_model->embed_tokens->weight);
  EXPECT_TRUE(torch::allclose(tied->forward(in).logits, reference->forward(in).logits, 0, 1e-6));

  // A missing tensor is named.
  test::TempDir broken;
  config["tie_word_embeddings"] = false;
  std::vector<std::pair<std::string, at::Tensor>> some;
  for (const auto& p : reference->named_parameters())
    if (p.key() != "model.multi_modal_projector.linear_2.bias")
      some.emplace_back(p.key(), p.value());
  io::save_safetensors(broken.file("model.safetensors"), some);
  std::ofstream(broken.file("config.json")) << config.dump();
  try {
    load_llava(broken.path());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("linear_2.bias"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lavender::vlm

namespace lavender::vlm {
namespace {

TEST(Generate, LeftPaddedBatchGeneratesWhatEachRowGeneratesAlone) {
  auto model = load_llava(test::fixture_dir("llava"));
  auto f = parity::load_fixture(test::fixture_dir("llava"));
  at::Tensor ids = f.tensor("input_ids"), pixels = f.tensor("pixel_values");
  at::Tensor a = ids.narrow(0, 0, 1);
  // Row b: row 1 without three of its leading text tokens (kept: bos), so it is shorter.
  at::Tensor b =
      torch::cat({ids.narrow(0, 1, 1).narrow(1, 0, 1), ids.narrow(0, 1, 1).slice(1, 4)}, 1);
  ASSERT_EQ(b.size(1), 78);
  at::Tensor batch = torch::cat({a, torch::cat({torch::zeros({1, 3}, torch::kLong), b}, 1)}, 0);
  at::Tensor mask = torch::ones_like(batch);
  mask.narrow(0, 1, 1).narrow(1, 0, 3).zero_();

  GenerationOptions o;
  o.max_new_tokens = 5;
  at::Tensor together = generate_llava(*model, pixels, batch, mask, o);
  at::Tensor alone_a = generate_llava(*model, pixels.narrow(0, 0, 1), a, at::Tensor(), o);
  at::Tensor alone_b = generate_llava(*model, pixels.narrow(0, 1, 1), b, at::Tensor(), o);
  EXPECT_TRUE(torch::equal(together[0].slice(0, 81), alone_a[0].slice(0, 81)));
  EXPECT_TRUE(torch::equal(together[1].slice(0, 81), alone_b[0].slice(0, 78)));
}

}  // namespace
}  // namespace lavender::vlm

namespace lavender::vlm {
TEST(Llava, DefaultGroundingLayersAreTheMiddleHalfOfADeepDecoder) {
  using V = std::vector<int64_t>;
  EXPECT_EQ(default_grounding_layers(3), (V{0, 1, 2}));  // small: every layer
  EXPECT_EQ(default_grounding_layers(8), (V{2, 3, 4, 5}));
  EXPECT_EQ(default_grounding_layers(10), (V{2, 3, 4, 5, 6}));
  const V seven_b = default_grounding_layers(32);  // LLaVA-1.5-7B
  ASSERT_EQ(seven_b.size(), 16u);
  EXPECT_EQ(seven_b.front(), 8);
  EXPECT_EQ(seven_b.back(), 23);
}
}  // namespace lavender::vlm
