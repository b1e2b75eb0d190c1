#include <gtest/gtest.h>

#include "config_test_util.h"
#include "lavender/io/config/llava.h"
#include "realistic_configs.h"
#include "test_paths.h"

namespace lavender::io::config {
namespace {

using lavender::test::expect_config_error;
using lavender::test::parse;

LlavaConfig llava(const std::string& text) {
  return parse_llava_config(parse(text), "model/config.json");
}

TEST(ConfigLlava, TinyFixture) {
  const LlavaConfig c = load_llava_config(test::fixture_dir("llava") + "/config.json");
  EXPECT_EQ(c.image_token_index, 299);
  EXPECT_EQ(c.image_seq_length, 576);
  EXPECT_TRUE(c.multimodal_projector_bias);
  EXPECT_EQ(c.projector_hidden_act, "gelu");
  EXPECT_EQ(c.vision_feature_layers, std::vector<int64_t>{-2});
  EXPECT_EQ(c.vision_feature_select_strategy, VisionFeatureSelectStrategy::kDefault);
  EXPECT_FALSE(c.tie_word_embeddings);

  const LlamaConfig& t = c.text_config;
  EXPECT_EQ(t.vocab_size, 300);
  EXPECT_EQ(t.hidden_size, 64);
  EXPECT_EQ(t.intermediate_size, 96);
  EXPECT_EQ(t.num_hidden_layers, 3);
  EXPECT_EQ(t.num_attention_heads, 4);
  EXPECT_EQ(t.num_key_value_heads, 2);
  EXPECT_EQ(t.head_dim, 16);
  EXPECT_EQ(t.max_position_embeddings, 512);
  EXPECT_DOUBLE_EQ(t.rms_norm_eps, 1e-5);
  EXPECT_EQ(t.pad_token_id, 0);
  EXPECT_EQ(t.rope.type, RopeType::kDefault);
  EXPECT_DOUBLE_EQ(t.rope.theta, 10000.0);

  const ClipVisionConfig& v = c.vision_config;
  EXPECT_EQ(v.hidden_size, 32);
  EXPECT_EQ(v.intermediate_size, 37);
  EXPECT_EQ(v.num_hidden_layers, 3);
  EXPECT_EQ(v.num_attention_heads, 4);
  EXPECT_EQ(v.image_size, 32);
  EXPECT_EQ(v.patch_size, 4);
  EXPECT_EQ(v.hidden_act, "quick_gelu");
}

TEST(ConfigLlava, Llava15_7bV4Layout) {
  const LlavaConfig c = llava(test::kLlava15_7b);
  EXPECT_EQ(c.image_token_index, 32000);
  EXPECT_EQ(c.text_config.vocab_size, 32064);
  EXPECT_EQ(c.text_config.max_position_embeddings, 4096);
  EXPECT_EQ(c.text_config.num_key_value_heads, 32);
  EXPECT_EQ(c.text_config.head_dim, 128);
  EXPECT_EQ(c.text_config.rope.type, RopeType::kDefault);
  EXPECT_DOUBLE_EQ(c.text_config.rope.theta, 10000.0);
  EXPECT_EQ(c.vision_config.hidden_size, 1024);
  EXPECT_EQ(c.vision_config.num_hidden_layers, 24);
  EXPECT_EQ(c.vision_config.patch_size, 14);
  EXPECT_EQ(c.vision_config.image_size, 336);
  EXPECT_EQ(c.vision_config.projection_dim, 768);
  EXPECT_EQ(c.vision_feature_layers, std::vector<int64_t>{-2});
}

TEST(ConfigLlava, Defaults) {
  const LlavaConfig c = llava("{}");
  EXPECT_EQ(c.image_token_index, 32000);
  EXPECT_EQ(c.projector_hidden_act, "gelu");
  EXPECT_EQ(c.image_seq_length, 576);
  EXPECT_TRUE(c.multimodal_projector_bias);
  EXPECT_EQ(c.text_config.hidden_size, 4096);
  // Absent vision_config: LLaVA's own CLIP ViT-L/14-336 defaults.
  EXPECT_EQ(c.vision_config.hidden_size, 1024);
  EXPECT_EQ(c.vision_config.image_size, 336);
  EXPECT_EQ(c.vision_config.patch_size, 14);
  // Present but empty vision_config: CLIPVisionConfig's defaults.
  const LlavaConfig e = llava(R"({"vision_config": {}})");
  EXPECT_EQ(e.vision_config.hidden_size, 768);
  EXPECT_EQ(e.vision_config.image_size, 224);
}

TEST(ConfigLlava, AliasesAndLists) {
  const LlavaConfig c = llava(R"({"image_token_id": 7, "vision_feature_layer": [-2, -5, 3],
                                  "vision_feature_select_strategy": "full",
                                  "text_config": {"tie_word_embeddings": true}})");
  EXPECT_EQ(c.image_token_index, 7);
  EXPECT_EQ(c.vision_feature_layers, (std::vector<int64_t>{-2, -5, 3}));
  EXPECT_EQ(c.vision_feature_select_strategy, VisionFeatureSelectStrategy::kFull);
  EXPECT_TRUE(c.tie_word_embeddings);
}

TEST(ConfigLlava, NestedRopeErrorNamesDottedPath) {
  expect_config_error(
      [] { llava(R"({"text_config": {"rope_scaling": {"rope_type": "yarn", "factor": 4}}})"); },
      {"model/config.json: field 'text_config.rope_scaling.rope_type': unsupported value "
       "\"yarn\" (supported: default, linear, llama3, dynamic)"});
}

TEST(ConfigLlava, BadSelectStrategy) {
  expect_config_error([] { llava(R"({"vision_feature_select_strategy": "cls"})"); },
                      {"field 'vision_feature_select_strategy': unsupported value \"cls\""});
}

TEST(ConfigLlava, FeatureLayerOutOfRange) {
  expect_config_error([] { llava(R"({"vision_feature_layer": -26})"); },
                      {"field 'vision_feature_layer': value -26 out of range [-25, 24]"});
  expect_config_error([] { llava(R"({"vision_feature_layer": [1, 99]})"); },
                      {"field 'vision_feature_layer[1]'"});
}

TEST(ConfigLlava, OtherTowersRejected) {
  expect_config_error([] { llava(R"({"vision_config": {"model_type": "siglip_vision_model"}})"); },
                      {"field 'vision_config.model_type': unsupported value"});
  expect_config_error([] { llava(R"({"text_config": {"model_type": "mistral"}})"); },
                      {"field 'text_config.model_type'"});
  expect_config_error([] { llava(R"({"text_config": {"num_key_value_heads": 3}})"); },
                      {"field 'text_config.num_key_value_heads'"});
}

}  // namespace
}  // namespace lavender::io::config
