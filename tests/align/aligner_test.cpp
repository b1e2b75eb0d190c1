#include "lavender/align/aligner.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lavender/align/head_layer_pooling.h"
#include "lavender/util/error.h"

namespace lavender::align {
namespace {

TEST(HeadLayerPooling, EveryVariantHasItsShapeAndValues) {
  at::Tensor maps = torch::rand({2, 3, 4, 5, 8, 8});  // B, layers, heads, words, S, S
  auto mm = pool_heads_layers(maps, parse_head_layer_pooling("mean-mean"));
  ASSERT_EQ(mm.sizes(), (std::vector<int64_t>{2, 5, 1, 8, 8}));
  EXPECT_TRUE(torch::allclose(mm.squeeze(2), maps.mean(std::vector<int64_t>{1, 2})));
  auto xm = pool_heads_layers(maps, parse_head_layer_pooling("max-mean"));
  EXPECT_TRUE(torch::allclose(xm.squeeze(2), std::get<0>(maps.max(2)).mean(1)));
  auto heads = pool_heads_layers(maps, parse_head_layer_pooling("heads-max"));
  ASSERT_EQ(heads.sizes(), (std::vector<int64_t>{2, 5, 4, 8, 8}));
  EXPECT_TRUE(torch::allclose(heads, std::get<0>(maps.max(1)).transpose(1, 2)));
  auto flow = pool_heads_layers(maps, parse_head_layer_pooling("flow-product"));
  at::Tensor expected =
      maps.select(1, 0).mean(1) * maps.select(1, 1).mean(1) * maps.select(1, 2).mean(1);
  EXPECT_TRUE(torch::allclose(flow.squeeze(2), expected));
  auto weighted = pool_heads_layers(maps, parse_head_layer_pooling("flow-sum-weighted"));
  EXPECT_EQ(weighted.sizes(), (std::vector<int64_t>{2, 5, 1, 8, 8}));
  EXPECT_EQ(pooled_channels(parse_head_layer_pooling("heads-mean"), 4), 4);
  for (const char* name : {"max-max", "heads-mean", "flow-sum", "flow-product-weighted"})
    EXPECT_EQ(head_layer_pooling_name(parse_head_layer_pooling(name)), name);
  EXPECT_THROW(parse_head_layer_pooling("median-max"), Error);
  EXPECT_THROW(parse_head_layer_pooling("flow-divide"), Error);
}

TEST(Aligner, VariantsMapChannelsToOneNormalisedMapAndLearn) {
  for (const char* variant : {"light", "sim", "deep", "mlp"})
    for (const char* norm : {"instance", "batch", "group", "none"}) {
      AlignerOptions o;
      o.variant = variant;
      o.norm = norm;
      o.in_channels = 4;
      o.hidden = 8;
      torch::manual_seed(0);
      Aligner a(o);
      at::Tensor y = a(torch::rand({3, 4, 16, 16}));
      ASSERT_EQ(y.sizes(), (std::vector<int64_t>{3, 16, 16})) << variant << norm;
      EXPECT_GE(y.min().item<float>(), 0.0f);
      EXPECT_LE(y.max().item<float>(), 1.0f);
    }
  // A few steps of gradient descent bring the output towards a target map.
  torch::manual_seed(1);
  Aligner a(AlignerOptions{});
  at::Tensor x = torch::rand({4, 1, 8, 8}), target = torch::zeros({4, 8, 8});
  target.narrow(1, 0, 4).fill_(1);
  torch::optim::Adam opt(a->parameters(), 1e-2);
  auto loss_of = [&] { return torch::mse_loss(a(x), target); };
  const float before = loss_of().item<float>();
  for (int i = 0; i < 60; ++i) {
    opt.zero_grad();
    loss_of().backward();
    opt.step();
  }
  EXPECT_LT(loss_of().item<float>(), before * 0.5f);
}

TEST(Aligner, BadOptionsAreErrors) {
  AlignerOptions o;
  o.variant = "huge";
  EXPECT_THROW(Aligner{o}, Error);
  o = AlignerOptions{};
  o.norm = "layer";
  EXPECT_THROW(Aligner{o}, Error);
  o = AlignerOptions{};
  o.activation = "gelu";
  EXPECT_THROW(Aligner{o}, Error);
  Aligner a(AlignerOptions{});
  EXPECT_THROW(a(torch::rand({1, 2, 8, 8})), Error);
}

}  // namespace
}  // namespace lavender::align
