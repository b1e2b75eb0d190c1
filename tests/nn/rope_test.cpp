#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "lavender/nn/rms_norm.h"
#include "lavender/nn/rope.h"

namespace lavender::nn {
namespace {

using io::config::RopeConfig;
using io::config::RopeType;

TEST(Rope, DefaultInverseFrequenciesAreThetaPowers) {
  RopeConfig r;  // theta 10000
  at::Tensor f = rope_inv_freq(r, 8);
  ASSERT_EQ(f.numel(), 4);
  // 10000^(-2i/8) = 1, 0.1, 0.01, 0.001
  const double expected[] = {1.0, 0.1, 0.01, 0.001};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(f[i].item<double>(), expected[i], expected[i] * 1e-6);
  r.type = RopeType::kLinear;
  r.factor = 4;
  at::Tensor lin = rope_inv_freq(r, 8);
  for (int i = 0; i < 4; ++i)
    EXPECT_NEAR(lin[i].item<double>(), expected[i] / 4, expected[i] * 1e-6);
}

TEST(Rope, Llama3KeepsHighFrequenciesStretchesLowOnesAndBlendsBetween) {
  RopeConfig r;
  r.type = RopeType::kLlama3;
  r.factor = 8;
  r.low_freq_factor = 1;
  r.high_freq_factor = 4;
  r.original_max_position_embeddings = 4096;
  // d = 10: inv_freq 10000^(-i/5); wavelengths 2π/f ≈ 6.3, 39.7, 250, 1579, 9958. With a
  // 4096-token original context the bands are: < 1024 kept, > 4096 divided by 8, else blended.
  at::Tensor f = rope_inv_freq(r, 10);
  ASSERT_EQ(f.numel(), 5);
  for (int i = 0; i < 5; ++i) {
    const double base = std::pow(10000.0, -2.0 * i / 10.0);
    const double wavelen = 2 * M_PI / base;
    double expected;
    if (wavelen < 1024) {
      expected = base;
    } else if (wavelen > 4096) {
      expected = base / 8;
    } else {
      const double s = (4096 / wavelen - 1) / (4 - 1);  // 0 at the low edge, 1 at the high
      expected = (1 - s) * base / 8 + s * base;
    }
    EXPECT_NEAR(f[i].item<double>(), expected, expected * 1e-5) << "i=" << i;
  }
  // Index 3 is the blended one: strictly between stretched and kept.
  const double b3 = std::pow(10000.0, -0.6);
  EXPECT_GT(f[3].item<double>(), b3 / 8 * 1.01);
  EXPECT_LT(f[3].item<double>(), b3 * 0.99);
}

TEST(Rope, DynamicScalingRaisesThetaOnlyBeyondTheTrainedLength) {
  RopeConfig r;
  r.type = RopeType::kDynamic;
  r.factor = 2;
  // Within max_position_embeddings (16) the frequencies are the default ones.
  RopeConfig plain;
  EXPECT_TRUE(torch::allclose(rope_inv_freq(r, 8, 16, 10), rope_inv_freq(plain, 8)));
  // At 32 positions: theta' = 10000 · (2·32/16 − 1)^(8/6).
  const double theta = 10000.0 * std::pow(3.0, 8.0 / 6.0);
  at::Tensor f = rope_inv_freq(r, 8, 16, 32);
  for (int i = 0; i < 4; ++i) {
    const double expected = std::pow(theta, -2.0 * i / 8.0);
    EXPECT_NEAR(f[i].item<double>(), expected, expected * 1e-5) << i;
  }
  // The rotary embedding picks the length from the position ids.
  RotaryEmbedding rope(r, 8, 16);
  auto short_seq = rope.cos_sin(torch::tensor({{5, 15}}, torch::kLong), torch::kFloat);
  auto long_seq = rope.cos_sin(torch::tensor({{5, 31}}, torch::kLong), torch::kFloat);
  EXPECT_NEAR(short_seq.first[0][0][1].item<double>(), std::cos(5 * 0.1), 1e-6);
  EXPECT_NEAR(long_seq.first[0][0][1].item<double>(), std::cos(5 * std::pow(theta, -0.25)), 1e-6);
}

TEST(Rope, RotatesEachPairByPositionTimesFrequency) {
  RopeConfig r;
  r.theta = 100.0;
  RotaryEmbedding rope(r, 4);  // inv_freq = 1, 0.1
  at::Tensor pos = torch::tensor({{0, 3}}, torch::kLong);
  auto [cos, sin] = rope.cos_sin(pos, torch::kFloat);
  ASSERT_EQ(cos.sizes(), (std::vector<int64_t>{1, 2, 4}));
  // x = [1, 2, 3, 4]: pairs (x0, x2) and (x1, x3).
  at::Tensor x = torch::tensor({1.f, 2.f, 3.f, 4.f}).view({1, 1, 1, 4}).expand({1, 1, 2, 4});
  at::Tensor y = apply_rotary(x, cos, sin);
  EXPECT_TRUE(torch::allclose(y[0][0][0], torch::tensor({1.f, 2.f, 3.f, 4.f})));
  const double a0 = 3 * 1.0, a1 = 3 * 0.1;
  const float expected[] = {
      static_cast<float>(1 * std::cos(a0) - 3 * std::sin(a0)),
      static_cast<float>(2 * std::cos(a1) - 4 * std::sin(a1)),
      static_cast<float>(3 * std::cos(a0) + 1 * std::sin(a0)),
      static_cast<float>(4 * std::cos(a1) + 2 * std::sin(a1)),
  };
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[0][0][1][i].item<float>(), expected[i], 1e-5);
}

TEST(Rope, DotProductsDependOnlyOnRelativePosition) {
  RopeConfig r;
  RotaryEmbedding rope(r, 8);
  torch::manual_seed(0);
  at::Tensor q = torch::randn({1, 1, 1, 8}), k = torch::randn({1, 1, 1, 8});
  auto dot_at = [&](int64_t pq, int64_t pk) {
    auto [cq, sq] = rope.cos_sin(torch::tensor({{pq}}, torch::kLong), torch::kFloat);
    auto [ck, sk] = rope.cos_sin(torch::tensor({{pk}}, torch::kLong), torch::kFloat);
    return (apply_rotary(q, cq, sq) * apply_rotary(k, ck, sk)).sum().item<double>();
  };
  EXPECT_NEAR(dot_at(5, 2), dot_at(13, 10), 1e-4);
  EXPECT_GT(std::abs(dot_at(5, 2) - dot_at(5, 4)), 1e-3);
}

TEST(RmsNorm, ScalesByRootMeanSquare) {
  RmsNorm norm(4, 1e-6);
  torch::NoGradGuard no_grad;
  norm->weight.copy_(torch::tensor({1.f, 2.f, 1.f, 1.f}));
  at::Tensor x = torch::tensor({{1.f, 1.f, 3.f, 3.f}});  // rms = sqrt(5)
  at::Tensor y = norm(x);
  const float s = 1.f / std::sqrt(5.f);
  EXPECT_TRUE(torch::allclose(y, torch::tensor({{s, 2 * s, 3 * s, 3 * s}}), 1e-5, 1e-6));
}

}  // namespace
}  // namespace lavender::nn
