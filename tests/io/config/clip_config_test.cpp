#include <gtest/gtest.h>

#include "config_test_util.h"
#include "lavender/io/config/clip.h"
#include "realistic_configs.h"
#include "test_paths.h"

namespace lavender::io::config {
namespace {

using lavender::test::expect_config_error;
using lavender::test::parse;

TEST(ConfigClip, TinyTextFixture) {
  const ClipTextConfig c = load_clip_text_config(test::fixture_dir("clip_text") + "/config.json");
  EXPECT_EQ(c.vocab_size, 1000);
  EXPECT_EQ(c.hidden_size, 32);
  EXPECT_EQ(c.intermediate_size, 37);
  EXPECT_EQ(c.num_hidden_layers, 3);
  EXPECT_EQ(c.num_attention_heads, 4);
  EXPECT_EQ(c.head_dim, 8);
  EXPECT_EQ(c.max_position_embeddings, 77);
  EXPECT_EQ(c.projection_dim, 512);
  EXPECT_EQ(c.hidden_act, "quick_gelu");
  EXPECT_DOUBLE_EQ(c.layer_norm_eps, 1e-5);
  EXPECT_EQ(c.bos_token_id, 0);
  EXPECT_EQ(c.eos_token_id, 2);
  EXPECT_EQ(c.pad_token_id, 1);
}

TEST(ConfigClip, SdTinyTextEncoderFixture) {
  const ClipTextConfig c =
      load_clip_text_config(test::fixture_dir("sd_tiny") + "/text_encoder/config.json");
  EXPECT_EQ(c.hidden_size, 32);
  EXPECT_EQ(c.num_hidden_layers, 2);
  EXPECT_EQ(c.vocab_size, 1000);
}

TEST(ConfigClip, Sd15TextEncoder) {
  const ClipTextConfig c = parse_clip_text_config(parse(test::kSd15TextEncoder), "te.json");
  EXPECT_EQ(c.hidden_size, 768);
  EXPECT_EQ(c.intermediate_size, 3072);
  EXPECT_EQ(c.num_attention_heads, 12);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.num_hidden_layers, 12);
  EXPECT_EQ(c.projection_dim, 768);
  EXPECT_EQ(c.vocab_size, 49408);
}

TEST(ConfigClip, TextDefaults) {
  const ClipTextConfig c = parse_clip_text_config(parse("{}"), "x");
  EXPECT_EQ(c.vocab_size, 49408);
  EXPECT_EQ(c.hidden_size, 512);
  EXPECT_EQ(c.intermediate_size, 2048);
  EXPECT_EQ(c.projection_dim, 512);
  EXPECT_EQ(c.num_hidden_layers, 12);
  EXPECT_EQ(c.num_attention_heads, 8);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.max_position_embeddings, 77);
  EXPECT_EQ(c.hidden_act, "quick_gelu");
  EXPECT_DOUBLE_EQ(c.layer_norm_eps, 1e-5);
  EXPECT_EQ(c.pad_token_id, 1);
  EXPECT_EQ(c.bos_token_id, 49406);
  EXPECT_EQ(c.eos_token_id, 49407);
}

TEST(ConfigClip, VisionDefaults) {
  const ClipVisionConfig c = parse_clip_vision_config(parse("{}"), "x");
  EXPECT_EQ(c.hidden_size, 768);
  EXPECT_EQ(c.intermediate_size, 3072);
  EXPECT_EQ(c.projection_dim, 512);
  EXPECT_EQ(c.num_hidden_layers, 12);
  EXPECT_EQ(c.num_attention_heads, 12);
  EXPECT_EQ(c.num_channels, 3);
  EXPECT_EQ(c.image_size, 224);
  EXPECT_EQ(c.patch_size, 32);
  EXPECT_EQ(c.hidden_act, "quick_gelu");
}

TEST(ConfigClip, NullMeansDefault) {
  const ClipTextConfig c = parse_clip_text_config(parse(R"({"hidden_size": null})"), "x");
  EXPECT_EQ(c.hidden_size, 512);
}

TEST(ConfigClip, HeadsMustDivideHidden) {
  expect_config_error(
      [] {
        parse_clip_text_config(parse(R"({"hidden_size": 30, "num_attention_heads": 4})"), "t.json");
      },
      {"t.json: field 'num_attention_heads':", "not divisible"});
}

TEST(ConfigClip, UnsupportedActivation) {
  expect_config_error(
      [] { parse_clip_vision_config(parse(R"({"hidden_act": "tanhshrink"})"), "v.json"); },
      {"v.json: field 'hidden_act': unsupported value \"tanhshrink\"", "quick_gelu"});
}

TEST(ConfigClip, PatchLargerThanImage) {
  expect_config_error(
      [] { parse_clip_vision_config(parse(R"({"image_size": 16, "patch_size": 32})"), "v.json"); },
      {"field 'patch_size'"});
}

}  // namespace
}  // namespace lavender::io::config
