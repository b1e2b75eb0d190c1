#include "lavender/align/attention_maps.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lavender/util/error.h"

namespace lavender::align {
namespace {

// Index of the largest value of a [S, S] map as {row, col}.
std::pair<int64_t, int64_t> peak(const at::Tensor& map) {
  const int64_t i = map.flatten().argmax().item<int64_t>();
  return {i / map.size(1), i % map.size(1)};
}

TEST(AttentionMaps, SquareSides) {
  EXPECT_EQ(square_side(576), 24);   // LLaVA-1.5 at 336 px
  EXPECT_EQ(square_side(1601), 41);  // mllama tile: 40² + class token
  EXPECT_EQ(square_side(17), 5);
  EXPECT_EQ(square_side(1), 1);
  EXPECT_EQ(square_side(4), 2);
  EXPECT_THROW(square_side(0), Error);
}

TEST(AttentionMaps, ToSquareKeepsSquaresAndInterpolatesOthers) {
  at::Tensor x = torch::arange(16, torch::kFloat).view({1, 16});
  EXPECT_TRUE(torch::equal(to_square(x), x.view({1, 4, 4})));
  at::Tensor five = to_square(torch::ones({2, 3, 17}));
  EXPECT_EQ(five.sizes(), (std::vector<int64_t>{2, 3, 5, 5}));
  EXPECT_TRUE(torch::allclose(five, torch::ones({2, 3, 5, 5})));
}

TEST(AttentionMaps, SelfAttentionBlockBecomesARasterMap) {
  // One text row attending to the bottom-right patch of a 4×4 grid.
  at::Tensor block = torch::zeros({1, 2, 1, 16});
  block[0][0][0][15] = 1;
  at::Tensor maps = self_attention_maps(block, 8);
  ASSERT_EQ(maps.sizes(), (std::vector<int64_t>{1, 2, 1, 8, 8}));
  EXPECT_EQ(peak(maps[0][0][0]), (std::pair<int64_t, int64_t>{7, 7}));
  EXPECT_EQ(maps[0][1][0].abs().sum().item<float>(), 0.0f);
}

TEST(AttentionMaps, TilesArePlacedOnTheAspectRatioCanvas) {
  // 4 tile slots of 4 patches (2×2 each). Sample 0: 1 row × 2 columns, attention on the first
  // patch of tile 1 (the right tile's top-left). Sample 1: 2 rows × 1 column, attention on the
  // last patch of tile 1 (the bottom tile's bottom-right). Padding tiles carry junk to ignore.
  at::Tensor probs = torch::zeros({2, 1, 1, 16});
  probs[0][0][0][4] = 1;
  probs[1][0][0][7] = 1;
  probs.narrow(3, 8, 8).fill_(5);
  at::Tensor maps = tiled_cross_attention_maps(probs, {{{1, 2}}, {{2, 1}}}, 4, 8);
  ASSERT_EQ(maps.sizes(), (std::vector<int64_t>{2, 1, 1, 8, 8}));
  auto [r0, c0] = peak(maps[0][0][0]);
  EXPECT_LT(r0, 4);  // top half of a 2×4 canvas stretched to 8×8
  EXPECT_GE(c0, 4);  // right tile
  auto [r1, c1] = peak(maps[1][0][0]);
  EXPECT_GE(r1, 4);                           // bottom tile
  EXPECT_GE(c1, 4);                           // its right column
  EXPECT_LT(maps.max().item<float>(), 5.0f);  // padding tiles never reach the canvas
  EXPECT_THROW(tiled_cross_attention_maps(probs, {{{3, 2}}, {{1, 1}}}, 4, 8), Error);
  EXPECT_THROW(tiled_cross_attention_maps(probs, {{{1, 1}}}, 4, 8), Error);
}

TEST(AttentionMaps, WordMapsAverageTheirTokensAndCarryGradients) {
  at::Tensor maps = torch::rand({3, 4, 4}, torch::requires_grad());
  at::Tensor words = word_maps_from_tokens(maps, {-1, 0, 0}, 2);
  ASSERT_EQ(words.sizes(), (std::vector<int64_t>{2, 4, 4}));
  EXPECT_TRUE(torch::allclose(words[0], (maps[1] + maps[2]) / 2));
  EXPECT_EQ(words[1].abs().sum().item<float>(), 0.0f);
  words.sum().backward();
  EXPECT_EQ(maps.grad()[0].abs().sum().item<float>(), 0.0f);
  EXPECT_TRUE(torch::allclose(maps.grad()[1], torch::full({4, 4}, 0.5)));
  EXPECT_THROW(word_maps_from_tokens(maps, {0, 0, 0, 0}, 1), Error);
  EXPECT_THROW(word_maps_from_tokens(maps, {0, 3}, 2), Error);
}

}  // namespace
}  // namespace lavender::align
