#include "lavender/align/sliced_attention_maps.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lavender/util/error.h"

namespace lavender::align {
namespace {

// Two queries per picture. The source picture is 1×2 patches: query 0 read patch 0 only, query 1
// both halves. Each slice is one patch, which both its queries read.
std::vector<at::Tensor> tiny_query_to_patch() {
  return {torch::tensor({1.0f, 0.0f, 0.5f, 0.5f}).view({2, 2}), torch::ones({2, 1}),
          torch::ones({2, 1})};
}

// One head, one text row: 0.2, 0.4 on the source's queries, 0.2, 0.1 on slice 0's, 0.1, 0 on
// slice 1's. By hand: source patches [0.2 + 0.4·0.5, 0.4·0.5] = [0.4, 0.2]; slices 0.3 and 0.1.
at::Tensor tiny_block() {
  return torch::tensor({0.2f, 0.4f, 0.2f, 0.1f, 0.1f, 0.0f}).view({1, 1, 6});
}

TEST(SlicedAttentionMaps, ComposedMapsMatchAHandComputation) {
  // Slices side by side (2 columns, 1 row). At S = 2 the source's 1×2 grid and the slices' 1×2
  // canvas are repeated down the rows; each view weighs by its 2 cells:
  // (2·[0.4 0.2] + 2·[0.3 0.1]) / 4 = [0.35 0.15].
  SlicedImage image{{{1, 2}, {1, 1}, {1, 1}}, 2, 1};
  at::Tensor maps =
      sliced_image_maps(tiny_block(), image, tiny_query_to_patch(), LatentMaps::composed, 2);
  ASSERT_EQ(maps.sizes(), (std::vector<int64_t>{1, 1, 2, 2}));
  EXPECT_TRUE(torch::allclose(maps[0][0], torch::tensor({0.35f, 0.15f, 0.35f, 0.15f}).view({2, 2})))
      << maps;

  // Slices stacked (1 column, 2 rows): the slices' canvas is [0.3; 0.1], repeated across:
  // (2·[0.4 0.2; 0.4 0.2] + 2·[0.3 0.3; 0.1 0.1]) / 4.
  image.grid_cols = 1, image.grid_rows = 2;
  maps = sliced_image_maps(tiny_block(), image, tiny_query_to_patch(), LatentMaps::composed, 2);
  EXPECT_TRUE(torch::allclose(maps[0][0], torch::tensor({0.35f, 0.25f, 0.25f, 0.15f}).view({2, 2})))
      << maps;

  // Without slices the map is the source picture's own composed grid.
  SlicedImage alone{{{1, 2}}, 0, 0};
  maps = sliced_image_maps(tiny_block().narrow(2, 0, 2), alone, {tiny_query_to_patch()[0]},
                           LatentMaps::composed, 2);
  EXPECT_TRUE(torch::allclose(maps[0][0], torch::tensor({0.4f, 0.2f, 0.4f, 0.2f}).view({2, 2})));
}

// Either view alone is its own density over its own cells: the source's [0.4 0.2], the slices'
// canvas [0.3 0.1]; a picture without slices keeps its source view whatever is asked.
TEST(SlicedAttentionMaps, EitherViewAloneIsThatViewsMap) {
  const SlicedImage image{{{1, 2}, {1, 1}, {1, 1}}, 2, 1};
  at::Tensor maps = sliced_image_maps(tiny_block(), image, tiny_query_to_patch(),
                                      LatentMaps::composed, 2, SlicedViews::source);
  EXPECT_TRUE(torch::allclose(maps[0][0], torch::tensor({0.4f, 0.2f, 0.4f, 0.2f}).view({2, 2})))
      << maps;
  maps = sliced_image_maps(tiny_block(), image, tiny_query_to_patch(), LatentMaps::composed, 2,
                           SlicedViews::slices);
  EXPECT_TRUE(torch::allclose(maps[0][0], torch::tensor({0.3f, 0.1f, 0.3f, 0.1f}).view({2, 2})))
      << maps;
  const SlicedImage alone{{{1, 2}}, 0, 0};
  maps = sliced_image_maps(tiny_block().narrow(2, 0, 2), alone, {tiny_query_to_patch()[0]},
                           LatentMaps::composed, 2, SlicedViews::slices);
  EXPECT_TRUE(torch::allclose(maps[0][0], torch::tensor({0.4f, 0.2f, 0.4f, 0.2f}).view({2, 2})));

  EXPECT_EQ(parse_sliced_views("slices"), SlicedViews::slices);
  EXPECT_STREQ(sliced_views_name(SlicedViews::source), "source");
  EXPECT_THROW(parse_sliced_views("tiles"), Error);
}

// The resampler's probabilities over padded keys: each row renormalised over its patches, then
// the heads averaged.
TEST(SlicedAttentionMaps, QueryPatchAttentionRenormalisesAndAveragesHeads) {
  at::Tensor probs = torch::tensor({0.2f, 0.2f, 0.0f, 0.0f, 1.0f, 0.0f,   // head 0
                                    0.3f, 0.1f, 0.0f, 0.5f, 0.5f, 0.0f})  // head 1
                         .view({1, 2, 2, 3});
  at::Tensor q = query_patch_attention(probs);
  EXPECT_TRUE(
      torch::allclose(q[0], torch::tensor({0.625f, 0.375f, 0.0f, 0.25f, 0.75f, 0.0f}).view({2, 3})))
      << q;
}

TEST(SlicedAttentionMaps, SquareReadsEachPicturesTokensAsARaster) {
  // Four tokens per picture: a 2×2 raster; a lone source picture at S = 2 is that raster.
  at::Tensor block = torch::tensor({0.1f, 0.2f, 0.3f, 0.4f}).view({1, 1, 4});
  at::Tensor maps = sliced_image_maps(block, {{{3, 5}}, 0, 0}, {}, LatentMaps::square, 2);
  EXPECT_TRUE(torch::allclose(maps[0][0], torch::tensor({0.1f, 0.2f, 0.3f, 0.4f}).view({2, 2})));
}

TEST(SlicedAttentionMaps, GradientsReachTheTextAndTheResampler) {
  at::Tensor block = torch::softmax(torch::randn({2, 3, 7 * 4}), -1).requires_grad_();
  at::Tensor probs = torch::softmax(torch::randn({7, 2, 4, 12}), -1).requires_grad_();
  at::Tensor to_patch = query_patch_attention(probs);
  SlicedImage image{{{3, 4}}, 3, 2};
  std::vector<at::Tensor> q{to_patch[0]};
  for (int k = 1; k < 7; ++k) {
    image.patch_grids.push_back({2, 3});
    q.push_back(to_patch[k].narrow(1, 0, 6));
  }
  at::Tensor maps = sliced_image_maps(block, image, q, LatentMaps::composed, 8);
  EXPECT_EQ(maps.sizes(), (std::vector<int64_t>{2, 3, 8, 8}));
  maps.pow(2).sum().backward();
  EXPECT_GT(block.grad().abs().sum().item<float>(), 0);
  EXPECT_GT(probs.grad().abs().sum().item<float>(), 0);
}

TEST(SlicedAttentionMaps, RefusesPicturesThatDoNotFitTheGrid) {
  const auto q = tiny_query_to_patch();
  // Three pictures but a 2×2 grid of slices.
  EXPECT_THROW(
      sliced_image_maps(tiny_block(), {{{1, 2}, {1, 1}, {1, 1}}, 2, 2}, q, LatentMaps::composed, 2),
      Error);
  // Slices of different sizes.
  EXPECT_THROW(
      sliced_image_maps(tiny_block(), {{{1, 2}, {1, 1}, {1, 2}}, 2, 1}, q, LatentMaps::composed, 2),
      Error);
  // A query→patch attention that does not cover the picture's patches.
  EXPECT_THROW(
      sliced_image_maps(tiny_block(), {{{2, 2}, {1, 1}, {1, 1}}, 2, 1}, q, LatentMaps::composed, 2),
      Error);
}

}  // namespace
}  // namespace lavender::align
