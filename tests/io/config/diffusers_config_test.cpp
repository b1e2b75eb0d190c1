#include <gtest/gtest.h>

#include "config_test_util.h"
#include "lavender/io/config/diffusers.h"
#include "realistic_configs.h"
#include "test_paths.h"

namespace lavender::io::config {
namespace {

using lavender::test::expect_config_error;
using lavender::test::parse;

using Ints = std::vector<int64_t>;

UNet2DConditionConfig unet(const std::string& text) {
  return parse_unet_2d_condition_config(parse(text), "unet.json");
}
AutoencoderKLConfig vae(const std::string& text) {
  return parse_autoencoder_kl_config(parse(text), "vae.json");
}
DDPMSchedulerConfig ddpm(const std::string& text) {
  return parse_ddpm_scheduler_config(parse(text), "sched.json");
}

TEST(ConfigUnet, TinyFixture) {
  const UNet2DConditionConfig c =
      load_unet_2d_condition_config(test::fixture_dir("sd_tiny") + "/unet/config.json");
  ASSERT_TRUE(c.sample_size.has_value());
  EXPECT_EQ(c.sample_size->height, 16);
  EXPECT_EQ(c.sample_size->width, 16);
  EXPECT_EQ(c.in_channels, 4);
  EXPECT_EQ(c.out_channels, 4);
  EXPECT_EQ(c.down_block_types, (std::vector<std::string>{"CrossAttnDownBlock2D", "DownBlock2D"}));
  EXPECT_EQ(c.up_block_types, (std::vector<std::string>{"UpBlock2D", "CrossAttnUpBlock2D"}));
  EXPECT_EQ(c.mid_block_type, "UNetMidBlock2DCrossAttn");
  EXPECT_EQ(c.block_out_channels, (Ints{32, 64}));
  EXPECT_EQ(c.layers_per_block, (Ints{2, 2}));
  EXPECT_EQ(c.attention_head_dim, (Ints{8, 8}));
  EXPECT_EQ(c.num_attention_heads, (Ints{8, 8}));  // null -> attention_head_dim
  EXPECT_EQ(c.cross_attention_dim, (Ints{32, 32}));
  EXPECT_EQ(c.transformer_layers_per_block, (Ints{1, 1}));
  EXPECT_EQ(c.norm_num_groups, 8);
  EXPECT_DOUBLE_EQ(c.norm_eps, 1e-5);
  EXPECT_EQ(c.act_fn, "silu");
  EXPECT_TRUE(c.flip_sin_to_cos);
  EXPECT_EQ(c.freq_shift, 0);
  EXPECT_FALSE(c.use_linear_projection);
  EXPECT_FALSE(c.upcast_attention);
  EXPECT_FALSE(c.mid_block_only_cross_attention);
  EXPECT_EQ(c.only_cross_attention, (std::vector<bool>{false, false}));
  EXPECT_FALSE(c.class_embed_type.has_value());
  EXPECT_FALSE(c.addition_embed_type.has_value());
  EXPECT_EQ(c.time_embedding_type, "positional");
  EXPECT_EQ(c.resnet_time_scale_shift, "default");
  EXPECT_EQ(c.conv_in_kernel, 3);
  EXPECT_EQ(c.conv_out_kernel, 3);
}

TEST(ConfigUnet, Sd15) {
  const UNet2DConditionConfig c = unet(test::kSd15Unet);
  EXPECT_EQ(c.block_out_channels, (Ints{320, 640, 1280, 1280}));
  EXPECT_EQ(c.cross_attention_dim, (Ints{768, 768, 768, 768}));
  EXPECT_EQ(c.num_attention_heads, (Ints{8, 8, 8, 8}));
  EXPECT_EQ(c.sample_size->height, 64);
  EXPECT_EQ(c.norm_num_groups, 32);
  EXPECT_EQ(c.mid_block_type, "UNetMidBlock2DCrossAttn");
  EXPECT_FALSE(c.use_linear_projection);
  EXPECT_DOUBLE_EQ(c.mid_block_scale_factor, 1.0);
}

TEST(ConfigUnet, Sd21PerBlockHeadsAndLinearProjection) {
  const UNet2DConditionConfig c = unet(test::kSd21Unet);
  EXPECT_EQ(c.attention_head_dim, (Ints{5, 10, 20, 20}));
  // diffusers quirk: the per-block "attention_head_dim" list is really the head count, so every
  // block ends up with 64-channel heads.
  EXPECT_EQ(c.num_attention_heads, (Ints{5, 10, 20, 20}));
  EXPECT_EQ(c.block_out_channels[0] / c.num_attention_heads[0], 64);
  EXPECT_EQ(c.cross_attention_dim, (Ints{1024, 1024, 1024, 1024}));
  EXPECT_TRUE(c.use_linear_projection);
  EXPECT_TRUE(c.upcast_attention);
  EXPECT_EQ(c.sample_size->width, 96);
}

TEST(ConfigUnet, Defaults) {
  const UNet2DConditionConfig c = unet("{}");
  EXPECT_FALSE(c.sample_size.has_value());
  EXPECT_EQ(c.in_channels, 4);
  EXPECT_EQ(c.block_out_channels, (Ints{320, 640, 1280, 1280}));
  EXPECT_EQ(c.down_block_types.size(), 4u);
  EXPECT_EQ(c.down_block_types[3], "DownBlock2D");
  EXPECT_EQ(c.up_block_types[0], "UpBlock2D");
  EXPECT_EQ(c.layers_per_block, (Ints{2, 2, 2, 2}));
  EXPECT_EQ(c.cross_attention_dim, (Ints{1280, 1280, 1280, 1280}));
  EXPECT_EQ(c.attention_head_dim, (Ints{8, 8, 8, 8}));
  EXPECT_EQ(c.num_attention_heads, (Ints{8, 8, 8, 8}));
  EXPECT_EQ(c.norm_num_groups, 32);
  EXPECT_EQ(c.addition_embed_type_num_heads, 64);
}

TEST(ConfigUnet, ExplicitHeadsNullMidBlockAndPerBlockLists) {
  const UNet2DConditionConfig c = unet(R"({
      "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
      "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"],
      "block_out_channels": [32, 64], "norm_num_groups": null,
      "num_attention_heads": [2, 4], "cross_attention_dim": [16, 24],
      "layers_per_block": [1, 3], "only_cross_attention": [true, false],
      "mid_block_type": null, "sample_size": [32, 48]})");
  EXPECT_EQ(c.num_attention_heads, (Ints{2, 4}));
  EXPECT_EQ(c.attention_head_dim, (Ints{8, 8}));
  EXPECT_EQ(c.cross_attention_dim, (Ints{16, 24}));
  EXPECT_EQ(c.layers_per_block, (Ints{1, 3}));
  EXPECT_EQ(c.only_cross_attention, (std::vector<bool>{true, false}));
  EXPECT_FALSE(c.mid_block_only_cross_attention);
  EXPECT_FALSE(c.mid_block_type.has_value());
  EXPECT_FALSE(c.norm_num_groups.has_value());
  EXPECT_EQ(c.sample_size->height, 32);
  EXPECT_EQ(c.sample_size->width, 48);
  EXPECT_TRUE(unet(R"({"only_cross_attention": true})").mid_block_only_cross_attention);
}

TEST(ConfigUnet, Errors) {
  expect_config_error(
      [] {
        unet(R"({"down_block_types": ["CrossAttnDownBlock2D", "KDownBlock2D",
                                                        "DownBlock2D", "DownBlock2D"]})");
      },
      {"unet.json: field 'down_block_types[1]': unsupported value "
       "\"KDownBlock2D\" (supported: DownBlock2D, CrossAttnDownBlock2D)"});
  expect_config_error([] { unet(R"({"mid_block_type": "UNetMidBlock2DSimpleCrossAttn"})"); },
                      {"field 'mid_block_type': unsupported value"});
  expect_config_error([] { unet(R"({"up_block_types": ["UpBlock2D"]})"); },
                      {"field 'up_block_types': expected as many entries"});
  expect_config_error([] { unet(R"({"block_out_channels": [320, 640]})"); },
                      {"field 'block_out_channels': expected one value per block (4), got 2"});
  expect_config_error([] { unet(R"({"attention_head_dim": [5, 10, 20]})"); },
                      {"field 'attention_head_dim': expected one value per block"});
  expect_config_error([] { unet(R"({"attention_head_dim": 7})"); },
                      {"field 'attention_head_dim': block 0: 320 channels are not divisible by 7"});
  expect_config_error([] { unet(R"({"norm_num_groups": 33})"); }, {"field 'norm_num_groups'"});
  expect_config_error([] { unet(R"({"act_fn": "tanh"})"); },
                      {"field 'act_fn': unsupported value \"tanh\""});
  expect_config_error([] { unet(R"({"cross_attention_dim": -768})"); },
                      {"field 'cross_attention_dim': value -768 out of range"});
  expect_config_error([] { unet(R"({"conv_in_kernel": 4})"); }, {"field 'conv_in_kernel'"});
  expect_config_error([] { unet(R"({"time_embedding_type": "learned"})"); },
                      {"field 'time_embedding_type'"});
  expect_config_error([] { unet(R"({"class_embed_type": "bogus"})"); },
                      {"field 'class_embed_type'"});
  expect_config_error([] { unet(R"({"transformer_layers_per_block": [[1, 2], 1, 1, 1]})"); },
                      {"field 'transformer_layers_per_block[0]': expected an integer"});
  expect_config_error([] { unet(R"({"reverse_transformer_layers_per_block": [[1]]})"); },
                      {"field 'reverse_transformer_layers_per_block'"});
}

TEST(ConfigVae, TinyFixture) {
  const AutoencoderKLConfig c =
      load_autoencoder_kl_config(test::fixture_dir("sd_tiny") + "/vae/config.json");
  EXPECT_EQ(c.block_out_channels, (Ints{16, 32}));
  EXPECT_EQ(c.down_block_types.size(), 2u);
  EXPECT_EQ(c.layers_per_block, 1);
  EXPECT_EQ(c.latent_channels, 4);
  EXPECT_EQ(c.norm_num_groups, 8);
  EXPECT_EQ(c.sample_size.height, 32);
  EXPECT_DOUBLE_EQ(c.scaling_factor, 0.18215);
  EXPECT_FALSE(c.shift_factor.has_value());
  EXPECT_FALSE(c.latents_mean.has_value());
  EXPECT_TRUE(c.force_upcast);
  EXPECT_TRUE(c.use_quant_conv);
  EXPECT_TRUE(c.use_post_quant_conv);
  EXPECT_TRUE(c.mid_block_add_attention);
}

TEST(ConfigVae, Sd15) {
  const AutoencoderKLConfig c = vae(test::kSd15Vae);
  EXPECT_EQ(c.block_out_channels, (Ints{128, 256, 512, 512}));
  EXPECT_EQ(c.layers_per_block, 2);
  EXPECT_EQ(c.sample_size.width, 512);
  EXPECT_DOUBLE_EQ(c.scaling_factor, 0.18215);
}

TEST(ConfigVae, DefaultsAndOptionalStats) {
  const AutoencoderKLConfig c = vae("{}");
  EXPECT_EQ(c.block_out_channels, (Ints{64}));
  EXPECT_EQ(c.down_block_types, (std::vector<std::string>{"DownEncoderBlock2D"}));
  EXPECT_EQ(c.norm_num_groups, 32);
  EXPECT_EQ(c.sample_size.height, 32);
  EXPECT_EQ(c.in_channels, 3);
  const AutoencoderKLConfig s = vae(R"({"shift_factor": 0.0609, "scaling_factor": 1.5035,
      "latents_mean": [0.1, 0.2, 0.3, 0.4], "latents_std": [1, 2, 3, 4]})");
  EXPECT_DOUBLE_EQ(*s.shift_factor, 0.0609);
  EXPECT_EQ(s.latents_std->size(), 4u);
}

TEST(ConfigVae, Errors) {
  expect_config_error([] { vae(R"({"down_block_types": ["AttnDownEncoderBlock2D"]})"); },
                      {"vae.json: field 'down_block_types[0]': unsupported value"});
  expect_config_error([] { vae(R"({"block_out_channels": [64, 128]})"); },
                      {"field 'down_block_types': expected one entry per block_out_channels"});
  expect_config_error([] { vae(R"({"scaling_factor": 0})"); }, {"field 'scaling_factor'"});
  expect_config_error([] { vae(R"({"latents_mean": [0.1]})"); },
                      {"field 'latents_mean': expected one value per latent channel"});
  expect_config_error([] { vae(R"({"latent_channels": 0})"); }, {"field 'latent_channels'"});
}

TEST(ConfigDdpm, TinyFixture) {
  const DDPMSchedulerConfig c =
      load_ddpm_scheduler_config(test::fixture_dir("sd_tiny") + "/scheduler/scheduler_config.json");
  EXPECT_EQ(c.num_train_timesteps, 1000);
  EXPECT_DOUBLE_EQ(c.beta_start, 0.00085);
  EXPECT_DOUBLE_EQ(c.beta_end, 0.012);
  EXPECT_EQ(c.beta_schedule, BetaSchedule::kScaledLinear);
  EXPECT_FALSE(c.trained_betas.has_value());
  EXPECT_EQ(c.variance_type, VarianceType::kFixedSmall);
  EXPECT_FALSE(c.clip_sample);
  EXPECT_EQ(c.prediction_type, PredictionType::kEpsilon);
  EXPECT_EQ(c.timestep_spacing, TimestepSpacing::kLeading);
  EXPECT_EQ(c.steps_offset, 0);
  EXPECT_FALSE(c.rescale_betas_zero_snr);
}

TEST(ConfigDdpm, Sd15SchedulerAndDefaults) {
  const DDPMSchedulerConfig s = ddpm(test::kSd15Scheduler);
  EXPECT_EQ(s.steps_offset, 1);
  EXPECT_EQ(s.beta_schedule, BetaSchedule::kScaledLinear);
  const DDPMSchedulerConfig d = ddpm("{}");
  EXPECT_EQ(d.num_train_timesteps, 1000);
  EXPECT_DOUBLE_EQ(d.beta_start, 0.0001);
  EXPECT_DOUBLE_EQ(d.beta_end, 0.02);
  EXPECT_EQ(d.beta_schedule, BetaSchedule::kLinear);
  EXPECT_EQ(d.variance_type, VarianceType::kFixedSmall);
  EXPECT_TRUE(d.clip_sample);
  EXPECT_DOUBLE_EQ(d.clip_sample_range, 1.0);
  EXPECT_DOUBLE_EQ(d.dynamic_thresholding_ratio, 0.995);
  EXPECT_EQ(d.timestep_spacing, TimestepSpacing::kLeading);
  const DDPMSchedulerConfig v = ddpm(R"({"prediction_type": "v_prediction",
      "timestep_spacing": "trailing", "num_train_timesteps": 3, "trained_betas": [0.1, 0.2, 0.3]})");
  EXPECT_EQ(v.prediction_type, PredictionType::kVPrediction);
  EXPECT_EQ(v.timestep_spacing, TimestepSpacing::kTrailing);
  EXPECT_EQ(v.trained_betas->size(), 3u);
}

TEST(ConfigDdpm, Errors) {
  expect_config_error([] { ddpm(R"({"beta_schedule": "cosine"})"); },
                      {"sched.json: field 'beta_schedule': unsupported value \"cosine\""});
  expect_config_error([] { ddpm(R"({"prediction_type": "flow"})"); },
                      {"field 'prediction_type': unsupported value \"flow\""});
  expect_config_error([] { ddpm(R"({"variance_type": "fixed"})"); }, {"field 'variance_type'"});
  expect_config_error([] { ddpm(R"({"timestep_spacing": 1})"); },
                      {"field 'timestep_spacing': expected a string, got number"});
  expect_config_error([] { ddpm(R"({"num_train_timesteps": 0})"); },
                      {"field 'num_train_timesteps'"});
  expect_config_error([] { ddpm(R"({"beta_end": 1.5})"); }, {"field 'beta_end'"});
  expect_config_error([] { ddpm(R"({"num_train_timesteps": 2, "trained_betas": [0.1]})"); },
                      {"field 'trained_betas'"});
}

}  // namespace
}  // namespace lavender::io::config
