#include <gtest/gtest.h>

#include "config_test_util.h"
#include "lavender/io/config/mllama.h"
#include "realistic_configs.h"
#include "test_paths.h"

namespace lavender::io::config {
namespace {

using lavender::test::expect_config_error;
using lavender::test::parse;

MllamaConfig mllama(const std::string& text) {
  return parse_mllama_config(parse(text), "m.json");
}

TEST(ConfigMllama, TinyFixture) {
  const MllamaConfig c = load_mllama_config(test::fixture_dir("mllama") + "/config.json");
  EXPECT_EQ(c.image_token_index, 298);
  const MllamaTextConfig& t = c.text_config;
  EXPECT_EQ(t.vocab_size, 300);
  EXPECT_EQ(t.hidden_size, 64);
  EXPECT_EQ(t.num_hidden_layers, 4);
  EXPECT_EQ(t.num_attention_heads, 4);
  EXPECT_EQ(t.num_key_value_heads, 2);
  EXPECT_EQ(t.head_dim, 16);
  EXPECT_EQ(t.intermediate_size, 96);
  EXPECT_EQ(t.cross_attention_layers, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(t.rope.type, RopeType::kDefault);
  EXPECT_DOUBLE_EQ(t.rope.theta, 500000.0);
  EXPECT_EQ(t.bos_token_id, 1);
  EXPECT_EQ(t.eos_token_ids, std::vector<int64_t>{2});
  EXPECT_EQ(t.pad_token_id, 0);
  const MllamaVisionConfig& v = c.vision_config;
  EXPECT_EQ(v.hidden_size, 32);
  EXPECT_EQ(v.num_attention_heads, 4);
  EXPECT_EQ(v.head_dim, 8);
  EXPECT_EQ(v.num_hidden_layers, 2);
  EXPECT_EQ(v.num_global_layers, 1);
  EXPECT_EQ(v.image_size, 16);
  EXPECT_EQ(v.patch_size, 4);
  EXPECT_EQ(v.intermediate_size, 48);
  EXPECT_EQ(v.intermediate_layers_indices, std::vector<int64_t>{0});
  EXPECT_EQ(v.vision_output_dim, 64);
  EXPECT_EQ(v.max_num_tiles, 4);
  ASSERT_EQ(v.supported_aspect_ratios.size(), 8u);
  EXPECT_EQ(v.supported_aspect_ratios[3], (std::array<int64_t, 2>{1, 4}));
}

TEST(ConfigMllama, Llama32_11bVision) {
  const MllamaConfig c = mllama(test::kLlama32_11bVision);
  EXPECT_EQ(c.image_token_index, 128256);
  const MllamaTextConfig& t = c.text_config;
  EXPECT_EQ(t.num_hidden_layers, 40);
  EXPECT_EQ(t.head_dim, 128);
  EXPECT_EQ(t.num_key_value_heads, 8);
  EXPECT_EQ(t.cross_attention_layers, (std::vector<int64_t>{3, 8, 13, 18, 23, 28, 33, 38}));
  EXPECT_EQ(t.rope.type, RopeType::kLlama3);
  EXPECT_DOUBLE_EQ(t.rope.theta, 500000.0);
  EXPECT_DOUBLE_EQ(t.rope.factor, 8.0);
  EXPECT_DOUBLE_EQ(t.rope.low_freq_factor, 1.0);
  EXPECT_DOUBLE_EQ(t.rope.high_freq_factor, 4.0);
  EXPECT_EQ(t.rope.original_max_position_embeddings, 8192);
  EXPECT_EQ(c.vision_config.image_size, 560);
  EXPECT_EQ(c.vision_config.num_attention_heads, 16);
  EXPECT_EQ(c.vision_config.vision_output_dim, 7680);
}

TEST(ConfigMllama, Defaults) {
  const MllamaConfig c = mllama("{}");
  EXPECT_EQ(c.image_token_index, 128256);
  const MllamaTextConfig& t = c.text_config;
  EXPECT_EQ(t.vocab_size, 128256);
  EXPECT_EQ(t.hidden_size, 4096);
  EXPECT_EQ(t.num_hidden_layers, 40);
  EXPECT_EQ(t.num_attention_heads, 32);
  EXPECT_EQ(t.num_key_value_heads, 8);
  EXPECT_EQ(t.intermediate_size, 14336);
  EXPECT_DOUBLE_EQ(t.rope.theta, 500000.0);
  EXPECT_EQ(t.rope.type, RopeType::kDefault);
  EXPECT_EQ(t.max_position_embeddings, 131072);
  EXPECT_DOUBLE_EQ(t.rms_norm_eps, 1e-5);
  EXPECT_EQ(t.bos_token_id, 128000);
  EXPECT_EQ(t.eos_token_ids, std::vector<int64_t>{128001});
  EXPECT_EQ(t.pad_token_id, 128004);
  const MllamaVisionConfig& v = c.vision_config;
  EXPECT_EQ(v.hidden_size, 1280);
  EXPECT_EQ(v.num_hidden_layers, 32);
  EXPECT_EQ(v.num_global_layers, 8);
  EXPECT_EQ(v.num_attention_heads, 16);
  EXPECT_EQ(v.intermediate_size, 5120);
  EXPECT_EQ(v.vision_output_dim, 7680);
  EXPECT_EQ(v.image_size, 448);
  EXPECT_EQ(v.patch_size, 14);
  EXPECT_EQ(v.intermediate_layers_indices, (std::vector<int64_t>{3, 7, 15, 23, 30}));
  EXPECT_EQ(v.supported_aspect_ratios.size(), 8u);
}

TEST(ConfigMllama, CrossAttentionLayerOutOfRange) {
  expect_config_error(
      [] {
        mllama(R"({"text_config": {"num_hidden_layers": 4, "cross_attention_layers": [1, 4]}})");
      },
      {"m.json: field 'text_config.cross_attention_layers[1]': value 4 out of range [0, 3]"});
  expect_config_error(
      [] {
        mllama(R"({"text_config": {"num_hidden_layers": 4, "cross_attention_layers": [1, 1]}})");
      },
      {"field 'text_config.cross_attention_layers': layer 1 listed twice"});
}

TEST(ConfigMllama, VisionChecks) {
  expect_config_error([] { mllama(R"({"vision_config": {"vision_output_dim": 1280}})"); },
                      {"field 'vision_config.vision_output_dim'"});
  expect_config_error([] { mllama(R"({"vision_config": {"max_num_tiles": 2}})"); },
                      {"field 'vision_config.supported_aspect_ratios': missing"});
  expect_config_error(
      [] { mllama(R"({"vision_config": {"supported_aspect_ratios": [[1, 1], [2, 3]]}})"); },
      {"field 'vision_config.supported_aspect_ratios[1]': uses 6 tiles"});
  expect_config_error([] { mllama(R"({"vision_config": {"attention_heads": 7}})"); },
                      {"field 'vision_config.attention_heads'", "not divisible"});
}

TEST(ConfigMllama, NumAttentionHeadsSpellingAccepted) {
  const MllamaConfig c = mllama(R"({"vision_config": {"num_attention_heads": 8}})");
  EXPECT_EQ(c.vision_config.num_attention_heads, 8);
  EXPECT_EQ(c.vision_config.head_dim, 160);
}

}  // namespace
}  // namespace lavender::io::config
