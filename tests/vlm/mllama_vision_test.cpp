#include "lavender/vlm/mllama_vision.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lavender/io/checkpoint.h"
#include "lavender/io/config/mllama.h"
#include "lavender/io/load_state_dict.h"
#include "lavender/io/safetensors.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::vlm {
namespace {

MllamaVisionModel load_fixture_vision() {
  const std::string dir = test::fixture_dir("mllama");
  auto config = io::config::load_mllama_config(dir + "/config.json");
  MllamaVisionModel model(config.vision_config);
  io::LoadOptions options;
  options.key_rules = {{"vision_model.", ""}};
  options.ignore_unexpected = {R"(^(language_model|multi_modal_projector)\.)"};
  io::load_state_dict(*model, io::Checkpoint::open(dir), options);
  model->eval();
  return model;
}

TEST(MllamaVision, EveryLayersAttentionMatchesTheReference) {
  auto model = load_fixture_vision();
  auto io = io::SafetensorsFile::open(test::fixture_dir("mllama") + "/io.safetensors");
  VisionAttentionCapture capture;
  capture.layers = {"transformer.layers.0", "transformer.layers.1", "global_transformer.layers.0"};
  torch::NoGradGuard no_grad;
  at::Tensor features = model->forward(io->tensor("pixel_values"), io->tensor("aspect_ratio_ids"),
                                       io->tensor("aspect_ratio_mask"), &capture);
  EXPECT_EQ(features.sizes(), (std::vector<int64_t>{2, 1, 4, 17, 64}));
  for (const auto& layer : capture.layers) {
    at::Tensor ref = io->tensor("hook.model.vision_model." + layer + ".self_attn");
    at::Tensor ours = capture.probs.at(layer);
    ASSERT_EQ(ours.sizes(), ref.sizes()) << layer;
    EXPECT_LT((ours - ref).abs().max().item<double>(), 1e-5) << layer;
  }
}

TEST(MllamaVision, TileMaskMasksOnlyPaddingPairs) {
  // One image, 2 tiles, the second a padding tile; 3 patches padded to 4.
  at::Tensor m = tile_attention_mask(torch::tensor({{1, 0}}), 3, 4, torch::kFloat).squeeze();
  ASSERT_EQ(m.sizes(), (std::vector<int64_t>{8, 8}));
  EXPECT_EQ(m[0][0].item<float>(), 0.0f);    // real × real
  EXPECT_EQ(m[0][5].item<float>(), 0.0f);    // real × padding tile
  EXPECT_LT(m[3][5].item<float>(), -1e38f);  // padded patch × padding tile
  EXPECT_LT(m[3][3].item<float>(), -1e38f);  // padded patch × itself
  EXPECT_LT(m[6][7].item<float>(), -1e38f);
}

TEST(MllamaVision, WrongShapesAndIdsAreClearErrors) {
  auto model = load_fixture_vision();
  torch::NoGradGuard no_grad;
  EXPECT_THROW(
      model->forward(torch::zeros({1, 1, 4, 3, 8, 8}), torch::ones({1, 1}), torch::ones({1, 1, 4})),
      Error);
  EXPECT_THROW(model->forward(torch::zeros({1, 1, 4, 3, 16, 16}), torch::full({1, 1}, 99),
                              torch::ones({1, 1, 4})),
               Error);
}

}  // namespace
}  // namespace lavender::vlm
