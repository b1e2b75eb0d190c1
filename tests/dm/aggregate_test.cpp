#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lavender/align/map_ops.h"
#include "lavender/dm/aggregate.h"
#include "lavender/util/error.h"

namespace lavender::dm {
namespace {

// Probabilities [1, heads, H*W, T] where text position `t` attends only to pixel (y, x).
at::Tensor spike(int64_t heads, int64_t h, int64_t w, int64_t tokens, int64_t t, int64_t y,
                 int64_t x) {
  at::Tensor p = torch::zeros({1, heads, h * w, tokens});
  p.select(3, 0).fill_(1.0);  // everything else on the start token, as in SD
  p.select(3, 0).select(2, y * w + x).fill_(0.0);
  p.select(3, t).select(2, y * w + x).fill_(1.0);
  return p;
}

TEST(Aggregate, CombineLayersAveragesHeadsAndResizesLayers) {
  at::Tensor a = spike(2, 4, 4, 5, 2, 1, 1);
  at::Tensor b = spike(3, 8, 8, 5, 2, 2, 2);
  at::Tensor maps = combine_layers({{a, 4, 4, 1.0}, {b, 8, 8, 3.0}}, 8);
  EXPECT_EQ(maps.sizes(), (std::vector<int64_t>{1, 5, 8, 8}));
  // Token 2's map peaks where both layers put it (pixel (2..3, 2..3) of the 8×8 grid).
  at::Tensor m = maps[0][2];
  EXPECT_GT(m[2][2].item<float>(), m[6][6].item<float>());
  EXPECT_THROW(combine_layers({{a, 4, 3, 1.0}}, 8), Error);
  EXPECT_THROW(combine_layers({}, 8), Error);
}

// One head singles out pixel 0 for token 1 weakly; the other gives token 1 much more attention,
// spread over the image with a bump elsewhere. The mean follows the heavy head's bump; contrast
// weighting follows the head whose map stands out from its own average.
TEST(Aggregate, ContrastWeightingFollowsTheHeadThatPicksSomethingOut) {
  at::Tensor p = torch::zeros({1, 2, 4, 2});
  // head 0, token 1: 0.2 at pixel 0, 0.01 elsewhere (relative to its mean: 3.48, 0.17...)
  p[0][0].select(1, 1).copy_(torch::tensor({0.2, 0.01, 0.01, 0.01}));
  // head 1, token 1: 0.5 everywhere but 0.8 at pixel 3
  p[0][1].select(1, 1).copy_(torch::tensor({0.5, 0.5, 0.5, 0.8}));
  p.select(3, 0).copy_(1 - p.select(3, 1));
  at::Tensor mean = combine_layers({{p, 2, 2, 1.0}}, 2)[0][1].flatten();
  EXPECT_GT(mean[3].item<float>(), mean[0].item<float>());
  at::Tensor weighted = combine_layers({{p, 2, 2, 1.0}}, 2, 4.0)[0][1].flatten();
  EXPECT_GT(weighted[0].item<float>(), weighted[3].item<float>());
  // By hand for power 1: head h's map r_h = p_h / mean(p_h), weight std(r_h) (unbiased); the
  // result Σ_h std(r_h)·r_h.
  at::Tensor expected = torch::zeros({4});
  for (int64_t h = 0; h < 2; ++h) {
    at::Tensor r = p[0][h].select(1, 1) / p[0][h].select(1, 1).mean();
    expected += r.std() * r;
  }
  at::Tensor once = combine_layers({{p, 2, 2, 1.0}}, 2, 1.0)[0][1].flatten();
  EXPECT_TRUE(torch::allclose(once, expected, 1e-5, 1e-6)) << once << expected;
}

TEST(Aggregate, WordMapsAverageSubTokensAndNormalise) {
  at::Tensor tokens = torch::zeros({6, 4, 4});
  tokens[1][0][0] = 1.0;  // word 0 = token 1
  tokens[2][3][3] = 1.0;  // word 1 = tokens 2 and 3
  tokens[3][3][3] = 3.0;
  at::Tensor out = word_maps(tokens, {-1, 0, 1, 1, -1, -1}, 3, 8);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{3, 8, 8}));
  EXPECT_FLOAT_EQ(out[0].max().item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(out[0].min().item<float>(), 0.0f);
  EXPECT_GT(out[0][0][0].item<float>(), out[0][7][7].item<float>());
  EXPECT_GT(out[1][7][7].item<float>(), out[1][0][0].item<float>());
  EXPECT_EQ(out[2].abs().sum().item<float>(), 0.0f);  // a word with no tokens: zeros
  EXPECT_THROW(word_maps(tokens, {0, 5}, 3, 8), Error);
}

TEST(Aggregate, MinMaxHandlesConstantMaps) {
  at::Tensor m = torch::stack({torch::full({2, 2}, 3.0), torch::tensor({{0.0, 2.0}, {1.0, 4.0}})});
  at::Tensor n = align::minmax_normalise(m);
  EXPECT_EQ(n[0].abs().sum().item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(n[1][0][1].item<float>(), 0.5f);
  EXPECT_FLOAT_EQ(n[1][1][1].item<float>(), 1.0f);
}

}  // namespace
}  // namespace lavender::dm
