#include "lavender/nn/checkpoint.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace lavender::nn {
namespace {

TEST(GradientCheckpoint, GradientsEqualThoseOfThePlainCallDropoutIncluded) {
  torch::manual_seed(0);
  torch::nn::Linear a(8, 16), b(16, 4);
  torch::nn::Dropout drop(0.3);
  auto piece = [&](const std::vector<at::Tensor>& in) {
    return std::vector<at::Tensor>{b(drop(torch::relu(a(in[0])))), a(in[0]).sum(1)};
  };
  at::Tensor x = torch::randn({5, 8}, torch::requires_grad());
  auto grads = [&](bool recompute) {
    for (auto& p : a->parameters()) p.mutable_grad() = at::Tensor();
    for (auto& p : b->parameters()) p.mutable_grad() = at::Tensor();
    x.mutable_grad() = at::Tensor();
    torch::manual_seed(42);
    auto out = recompute ? checkpoint(piece, {x}) : piece({x});
    // Something else draws random numbers between forward and backward.
    torch::rand({100});
    (out[0].pow(2).sum() + out[1].sum() * 0.5).backward();
    return std::vector<at::Tensor>{x.grad().clone(), a->weight.grad().clone(),
                                   b->weight.grad().clone()};
  };
  auto plain = grads(false), recomputed = grads(true);
  for (size_t i = 0; i < plain.size(); ++i)
    EXPECT_TRUE(torch::allclose(plain[i], recomputed[i], 1e-6, 1e-7)) << i;
}

TEST(GradientCheckpoint, CapturedAttentionCarriesItsGradientThroughTheRecomputation) {
  torch::manual_seed(1);
  at::Tensor q = torch::randn({1, 2, 6, 4}), w = torch::randn({4, 4}, torch::requires_grad());
  auto layer = [&](const std::vector<at::Tensor>& in, AttentionCapture* capture) {
    at::Tensor k = torch::matmul(in[0], w);
    return attention(in[0], k, in[0], at::Tensor(), true, 0.5, capture);
  };
  auto run = [&](bool recompute) {
    w.mutable_grad() = at::Tensor();
    AttentionCapture capture;
    capture.query_begin = 2;
    at::Tensor y = recompute ? checkpoint_layer(layer, {q}, &capture) : layer({q}, &capture);
    (y.sum() + capture.probs.pow(2).sum() * 10).backward();
    return std::make_pair(capture.probs.detach().clone(), w.grad().clone());
  };
  auto [p0, g0] = run(false);
  auto [p1, g1] = run(true);
  EXPECT_TRUE(torch::allclose(p0, p1));
  EXPECT_TRUE(torch::allclose(g0, g1, 1e-5, 1e-6));
}

}  // namespace
}  // namespace lavender::nn
