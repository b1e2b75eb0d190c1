#include <gtest/gtest.h>

#include "config_test_util.h"
#include "lavender/io/config/llama.h"
#include "realistic_configs.h"

namespace lavender::io::config {
namespace {

using lavender::test::expect_config_error;
using lavender::test::parse;

LlamaConfig llama(const std::string& text) {
  return parse_llama_config(parse(text), "l.json");
}

TEST(ConfigLlama, Defaults) {
  const LlamaConfig c = llama("{}");
  EXPECT_EQ(c.vocab_size, 32000);
  EXPECT_EQ(c.hidden_size, 4096);
  EXPECT_EQ(c.intermediate_size, 11008);
  EXPECT_EQ(c.num_hidden_layers, 32);
  EXPECT_EQ(c.num_attention_heads, 32);
  EXPECT_EQ(c.num_key_value_heads, 32);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.hidden_act, "silu");
  EXPECT_EQ(c.max_position_embeddings, 2048);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_FALSE(c.pad_token_id.has_value());
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_ids, std::vector<int64_t>{2});
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_FALSE(c.mlp_bias);
  EXPECT_EQ(c.rope.type, RopeType::kDefault);
  EXPECT_DOUBLE_EQ(c.rope.theta, 10000.0);
}

TEST(ConfigLlama, GqaAndHeadDimDefaults) {
  const LlamaConfig c = llama(R"({"hidden_size": 64, "num_attention_heads": 4})");
  EXPECT_EQ(c.num_key_value_heads, 4);
  EXPECT_EQ(c.head_dim, 16);
  const LlamaConfig g = llama(R"({"hidden_size": 64, "num_attention_heads": 4,
                                  "num_key_value_heads": 2, "head_dim": 32})");
  EXPECT_EQ(g.num_key_value_heads, 2);
  EXPECT_EQ(g.head_dim, 32);
}

TEST(ConfigLlama, NullTokenIdsMeanNone) {
  const LlamaConfig c = llama(R"({"bos_token_id": null, "eos_token_id": null, "head_dim": null})");
  EXPECT_FALSE(c.bos_token_id.has_value());
  EXPECT_TRUE(c.eos_token_ids.empty());
  EXPECT_EQ(c.head_dim, 128);  // None here means "derive it"
}

TEST(ConfigLlama, V5RopeParameters) {
  const LlamaConfig c = parse_llama_config(parse(test::kLlama31_8bV5), "l.json");
  EXPECT_EQ(c.num_key_value_heads, 8);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{128001, 128008, 128009}));
  EXPECT_EQ(c.rope.type, RopeType::kLlama3);
  EXPECT_DOUBLE_EQ(c.rope.theta, 500000.0);
  EXPECT_DOUBLE_EQ(c.rope.factor, 8.0);
  EXPECT_DOUBLE_EQ(c.rope.low_freq_factor, 1.0);
  EXPECT_DOUBLE_EQ(c.rope.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope.original_max_position_embeddings, 8192);
}

TEST(ConfigLlama, V4RopeScalingWithLegacyTypeKey) {
  const LlamaConfig c =
      llama(R"({"rope_theta": 20000, "rope_scaling": {"type": "linear", "factor": 2.0}})");
  EXPECT_EQ(c.rope.type, RopeType::kLinear);
  EXPECT_DOUBLE_EQ(c.rope.factor, 2.0);
  EXPECT_DOUBLE_EQ(c.rope.theta, 20000.0);
}

TEST(ConfigLlama, RopeParametersOverrideTopLevelTheta) {
  const LlamaConfig c = llama(R"({"rope_theta": 20000,
                                  "rope_parameters": {"rope_type": "default", "rope_theta": 30000}})");
  EXPECT_DOUBLE_EQ(c.rope.theta, 30000.0);
}

TEST(ConfigLlama, UnsupportedRopeType) {
  expect_config_error([] { llama(R"({"rope_scaling": {"rope_type": "su", "factor": 2}})"); },
                      {"l.json: field 'rope_scaling.rope_type': unsupported value \"su\" "
                       "(supported: default, linear, llama3, dynamic)"});
  expect_config_error([] { llama(R"({"rope_parameters": {"type": "yarn"}})"); },
                      {"field 'rope_parameters.type': unsupported value \"yarn\""});
}

TEST(ConfigLlama, DynamicRopeNeedsAFactor) {
  const LlamaConfig c = llama(R"({"rope_scaling": {"rope_type": "dynamic", "factor": 2}})");
  EXPECT_EQ(c.rope.type, RopeType::kDynamic);
  EXPECT_DOUBLE_EQ(c.rope.factor, 2.0);
  expect_config_error([] { llama(R"({"rope_scaling": {"type": "dynamic"}})"); },
                      {"field 'rope_scaling.factor': missing"});
}

TEST(ConfigLlama, Llama3RopeNeedsItsFields) {
  expect_config_error(
      [] {
        llama(R"({"rope_scaling": {"rope_type": "llama3", "factor": 8, "low_freq_factor": 1,
                                       "high_freq_factor": 4}})");
      },
      {"field 'rope_scaling.original_max_position_embeddings': missing"});
  expect_config_error([] { llama(R"({"rope_scaling": {"rope_type": "linear"}})"); },
                      {"field 'rope_scaling.factor': missing"});
  expect_config_error(
      [] {
        llama(R"({"rope_scaling": {"rope_type": "llama3", "factor": 8, "low_freq_factor": 4,
                                       "high_freq_factor": 4,
                                       "original_max_position_embeddings": 8192}})");
      },
      {"field 'rope_scaling.high_freq_factor'"});
}

TEST(ConfigLlama, HiddenNotDivisibleByHeads) {
  expect_config_error([] { llama(R"({"hidden_size": 100, "num_attention_heads": 3})"); },
                      {"l.json: field 'num_attention_heads':", "not divisible"});
}

TEST(ConfigLlama, HeadsNotDivisibleByKvHeads) {
  expect_config_error([] { llama(R"({"num_attention_heads": 32, "num_key_value_heads": 5})"); },
                      {"l.json: field 'num_key_value_heads':"});
}

TEST(ConfigLlama, ZeroHeadsAndNegativeSizes) {
  expect_config_error([] { llama(R"({"num_attention_heads": 0})"); },
                      {"field 'num_attention_heads': value 0 out of range"});
  expect_config_error([] { llama(R"({"hidden_size": -4096})"); },
                      {"field 'hidden_size': value -4096 out of range"});
}

TEST(ConfigLlama, WrongTypes) {
  expect_config_error([] { llama(R"({"hidden_size": "4096"})"); },
                      {"field 'hidden_size': expected an integer, got string"});
  expect_config_error([] { llama(R"({"hidden_size": 4096.5})"); },
                      {"field 'hidden_size': expected an integer, got number"});
  expect_config_error([] { llama(R"({"rope_scaling": [1, 2]})"); },
                      {"field 'rope_scaling': expected an object, got array"});
  expect_config_error([] { llama(R"({"eos_token_id": [2, "x"]})"); },
                      {"field 'eos_token_id[1]': expected an integer"});
  expect_config_error([] { llama(R"({"use_cache": 1})"); },
                      {"field 'use_cache': expected a boolean"});
}

TEST(ConfigLlama, IntegralFloatsCountAsIntegers) {
  // Python writes 4096.0 for an int computed in float arithmetic; transformers accepts it.
  EXPECT_EQ(llama(R"({"hidden_size": 4096.0, "num_attention_heads": 32})").hidden_size, 4096);
  expect_config_error([] { llama(R"({"num_hidden_layers": 1e300})"); },
                      {"field 'num_hidden_layers'"});
}

}  // namespace
}  // namespace lavender::io::config
