#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lavender/dm/unet.h"
#include "lavender/io/safetensors.h"
#include "lavender/parity/parity.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::dm {
namespace {

using io::config::UNet2DConditionConfig;

// A tiny SD-shaped UNet: two levels, cross-attention in the upper one.
UNet2DConditionConfig tiny_unet_config() {
  UNet2DConditionConfig c;
  c.block_out_channels = {16, 32};
  c.down_block_types = {"CrossAttnDownBlock2D", "DownBlock2D"};
  c.up_block_types = {"UpBlock2D", "CrossAttnUpBlock2D"};
  c.layers_per_block = {1, 1};
  c.norm_num_groups = 4;
  c.cross_attention_dim = {12, 12};
  c.attention_head_dim = c.num_attention_heads = {2, 2};
  c.transformer_layers_per_block = {1, 1};
  c.only_cross_attention = {false, false};
  return c;
}

TEST(Unet, ParityWithTheReferenceFixture) {
  auto report = parity::run_parity(test::fixture_dir("sd_tiny"));
  EXPECT_EQ(report.exit_code(), parity::kExitPass) << report.format();
  int attn2 = 0;
  for (const auto& c : report.comparisons) {
    if (c.name == "unet_out") {
      EXPECT_LT(c.max_abs_diff, 1e-4) << report.format();
    }
    if (c.name.rfind("attn2.", 0) == 0) {
      ++attn2;
      EXPECT_LT(c.max_abs_diff, 1e-5) << c.name;
    }
  }
  EXPECT_EQ(attn2, 6);
}

TEST(Unet, CaptureReturnsExactlyTheRequestedLayersAndLeavesTheOutputAlone) {
  auto unet = load_unet(test::fixture_dir("sd_tiny") + "/unet");
  auto io = io::SafetensorsFile::open(test::fixture_dir("sd_tiny") + "/io.safetensors");
  at::Tensor x = io->tensor("noisy_latents"), t = io->tensor("timesteps");
  at::Tensor ctx = io->tensor("encoder_hidden_states");
  torch::NoGradGuard no_grad;

  auto layers = unet->cross_attention_layers(16, 16);
  ASSERT_EQ(layers.size(), 6u);
  EXPECT_EQ(layers[0].name, "down_blocks.0.attentions.0.transformer_blocks.0.attn2");
  EXPECT_EQ(layers[2].name, "mid_block.attentions.0.transformer_blocks.0.attn2");
  EXPECT_EQ(layers[2].height, 8);
  EXPECT_EQ(layers[5].name, "up_blocks.1.attentions.2.transformer_blocks.0.attn2");
  EXPECT_EQ(layers[5].height, 16);
  EXPECT_EQ(unet->cross_attention_layers(15, 15)[2].height, 8);  // ceil(15 / 2)

  at::Tensor plain = unet->forward(x, t, ctx);
  auto out = unet->forward_capturing(x, t, ctx, {layers[2].name, layers[4].name});
  // Bitwise equal where capture and the plain path share a kernel (LibTorch < 2.1); with fused
  // attention (the plain path) rounding may differ in the last bits.
  EXPECT_TRUE(torch::allclose(plain, out.sample, 1e-5, 1e-5));
  ASSERT_EQ(out.cross_attention.size(), 2u);
  for (int i : {2, 4}) {
    const auto& l = layers[static_cast<size_t>(i)];
    at::Tensor p = out.cross_attention.at(l.name);
    EXPECT_EQ(p.sizes(), (std::vector<int64_t>{2, l.heads, l.height * l.width, 77}));
    EXPECT_TRUE(torch::allclose(p.sum(-1), torch::ones({}), 1e-5, 1e-5));
  }
  // A capture object is reusable: each call replaces what it holds.
  CrossAttentionCapture capture;
  capture.layers = {layers[0].name};
  unet->forward(x, t, ctx, &capture);
  unet->forward(x, t, ctx, &capture);
  EXPECT_EQ(capture.probs.size(), 1u);
  capture.layers = {"down_blocks.0.attentions.0.transformer_blocks.0.attn1"};
  EXPECT_THROW(unet->forward(x, t, ctx, &capture), Error);
}

TEST(Unet, BatchIndependenceAndOddLatentSizes) {
  torch::manual_seed(0);
  UNet2DConditionModel unet(tiny_unet_config());
  unet->eval();
  torch::NoGradGuard no_grad;
  at::Tensor x = torch::randn({2, 4, 8, 8}), ctx = torch::randn({2, 5, 12});
  at::Tensor t = torch::tensor({10, 900}, torch::kLong);
  at::Tensor both = unet->forward(x, t, ctx);
  for (int64_t i = 0; i < 2; ++i) {
    at::Tensor one =
        unet->forward(x.slice(0, i, i + 1), t.slice(0, i, i + 1), ctx.slice(0, i, i + 1));
    EXPECT_TRUE(torch::allclose(one[0], both[i], 1e-5, 1e-5)) << i;
  }
  // One timestep for the whole batch, as a scalar.
  EXPECT_EQ(unet->forward(x, torch::tensor(10), ctx).sizes(), x.sizes());
  // Odd sizes: upsampling matches the skip connections instead of doubling.
  at::Tensor odd = torch::randn({1, 4, 7, 9});
  EXPECT_EQ(unet->forward(odd, torch::tensor(5), ctx.slice(0, 0, 1)).sizes(), odd.sizes());
  EXPECT_THROW(unet->forward(x, t, ctx.slice(0, 0, 1)), Error);
}

TEST(Unet, Sd2StyleOptionsBuild) {
  // SD 2.x: linear projections, per-block heads; plus scale-shift time conditioning.
  auto c = tiny_unet_config();
  c.use_linear_projection = true;
  c.upcast_attention = true;
  c.resnet_time_scale_shift = "scale_shift";
  torch::manual_seed(0);
  UNet2DConditionModel unet(c);
  auto params = unet->named_parameters();
  EXPECT_EQ(params["down_blocks.0.attentions.0.proj_in.weight"].sizes(),
            (std::vector<int64_t>{16, 16}));
  EXPECT_EQ(params["down_blocks.0.resnets.0.time_emb_proj.weight"].sizes(),
            (std::vector<int64_t>{32, 64}));
  torch::NoGradGuard no_grad;
  at::Tensor x = torch::randn({1, 4, 8, 8});
  EXPECT_EQ(unet->forward(x, torch::tensor(3), torch::randn({1, 5, 12})).sizes(), x.sizes());
}

TEST(Unet, RejectsUnsupportedConfigFeaturesByName) {
  auto expect_rejected = [](UNet2DConditionConfig c, const std::string& field) {
    try {
      UNet2DConditionModel unet(c);
      ADD_FAILURE() << field << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("\"" + field + "\""), std::string::npos) << e.what();
    }
  };
  auto c = tiny_unet_config();
  c.class_embed_type = "timestep";
  expect_rejected(c, "class_embed_type");
  c = tiny_unet_config();
  c.addition_embed_type = "text_time";
  expect_rejected(c, "addition_embed_type");
  c = tiny_unet_config();
  c.dual_cross_attention = true;
  expect_rejected(c, "dual_cross_attention");
  c = tiny_unet_config();
  c.attention_type = "gated";
  expect_rejected(c, "attention_type");
  c = tiny_unet_config();
  c.time_cond_proj_dim = 8;
  expect_rejected(c, "time_cond_proj_dim");
  c = tiny_unet_config();
  c.encoder_hid_dim = 8;
  expect_rejected(c, "encoder_hid_dim");
  c = tiny_unet_config();
  c.time_embedding_type = "fourier";
  expect_rejected(c, "time_embedding_type");
  c = tiny_unet_config();
  c.norm_num_groups.reset();
  expect_rejected(c, "norm_num_groups");
}

}  // namespace
}  // namespace lavender::dm
