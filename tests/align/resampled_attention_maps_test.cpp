#include "lavender/align/resampled_attention_maps.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lavender/util/error.h"

namespace lavender::align {
namespace {

// Two latents over a 2×2 patch raster (4 patches), one head in the Perceiver (plus a second
// whose rows differ, so the head mean shows), worked out by hand.
TEST(ResampledAttentionMaps, ComposedMapsMatchAHandComputation) {
  // Keys: patches 0..3 then latents 0..1. Head 0: latent 0 puts 0.5 on patch 0, 0.5 on the
  // latents (dropped → all of patch 0); latent 1 spreads 0.2 over patches 2, 3 and 0.6 on
  // latents (→ 0.5, 0.5 on patches 2, 3). Head 1: both latents all on patch 1.
  at::Tensor perceiver = torch::zeros({1, 2, 2, 6});
  perceiver[0][0][0][0] = 0.5, perceiver[0][0][0][4] = 0.25, perceiver[0][0][0][5] = 0.25;
  perceiver[0][0][1][2] = 0.2, perceiver[0][0][1][3] = 0.2, perceiver[0][0][1][5] = 0.6;
  perceiver[0][1][0][1] = 1, perceiver[0][1][1][1] = 1;
  at::Tensor lp = latent_patch_attention(perceiver);
  at::Tensor expected_lp = torch::tensor({0.5f, 0.5f, 0.0f, 0.0f, 0.0f, 0.5f, 0.25f, 0.25f});
  EXPECT_TRUE(torch::allclose(lp, expected_lp.view({1, 2, 4})));

  // A text row with 0.75 on latent 0 and 0.25 on latent 1 (head 0), all on latent 1 (head 1).
  at::Tensor block = torch::tensor({0.75f, 0.25f, 0.0f, 1.0f}).view({1, 2, 1, 2});
  // Patch weights by hand: head 0 = 0.75·[.5 .5 0 0] + 0.25·[0 .5 .25 .25]
  //                               = [.375 .5 .0625 .0625]; head 1 = [0 .5 .25 .25].
  at::Tensor maps = composed_latent_maps(block, lp, 2);  // S = 2: the raster itself
  ASSERT_EQ(maps.sizes(), (std::vector<int64_t>{1, 2, 1, 2, 2}));
  EXPECT_TRUE(
      torch::allclose(maps[0][0][0].flatten(), torch::tensor({0.375f, 0.5f, 0.0625f, 0.0625f})));
  EXPECT_TRUE(torch::allclose(maps[0][1][0].flatten(), torch::tensor({0.0f, 0.5f, 0.25f, 0.25f})));
  // A larger S is the bilinear resize of that raster; its corners keep the corner patches.
  at::Tensor big = composed_latent_maps(block, lp, 8);
  EXPECT_EQ(big.sizes(), (std::vector<int64_t>{1, 2, 1, 8, 8}));
  EXPECT_NEAR(big[0][0][0][0][7].item<float>(), 0.5f, 1e-6);  // patch 1, top right
}

TEST(ResampledAttentionMaps, GradientsReachBothAttentions) {
  at::Tensor perceiver = torch::softmax(torch::randn({2, 2, 8, 24}), -1).requires_grad_();
  at::Tensor block = torch::softmax(torch::randn({2, 2, 3, 8}), -1).requires_grad_();
  composed_latent_maps(block, latent_patch_attention(perceiver), 16).pow(2).sum().backward();
  EXPECT_GT(perceiver.grad().abs().sum().item<float>(), 0);
  EXPECT_GT(block.grad().abs().sum().item<float>(), 0);
}

TEST(ResampledAttentionMaps, SquareReadsTheLatentsAsARaster) {
  // 64 latents are an 8×8 raster; 8 latents are interpolated to 3×3.
  at::Tensor block = torch::zeros({1, 1, 1, 64});
  block[0][0][0][63] = 1;
  at::Tensor maps = square_latent_maps(block, 8);
  EXPECT_EQ(maps[0][0][0][7][7].item<float>(), 1.0f);
  EXPECT_EQ(square_latent_maps(torch::ones({1, 2, 3, 8}), 4).sizes(),
            (std::vector<int64_t>{1, 2, 3, 4, 4}));
}

TEST(ResampledAttentionMaps, ReadingsByName) {
  EXPECT_EQ(parse_latent_maps("composed"), LatentMaps::composed);
  EXPECT_EQ(parse_latent_maps("square"), LatentMaps::square);
  EXPECT_STREQ(latent_maps_name(LatentMaps::square), "square");
  EXPECT_THROW(parse_latent_maps("grid"), Error);
  // 3 patches are no raster.
  EXPECT_THROW(composed_latent_maps(torch::ones({1, 1, 1, 2}), torch::ones({1, 2, 3})), Error);
}

}  // namespace
}  // namespace lavender::align
