#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lavender/nn/attention.h"

namespace lavender::nn {
namespace {

at::Tensor reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const at::Tensor& mask, double scale) {
  at::Tensor s = torch::matmul(q, k.transpose(-2, -1)) * scale;
  if (mask.defined()) s = s + mask;
  return torch::matmul(torch::softmax(s, -1), v);
}

TEST(Attention, CaptureReturnsOnlyTheRequestedBlockAndKeepsTheOutput) {
  torch::manual_seed(1);
  at::Tensor q = torch::randn({2, 3, 5, 4}), k = torch::randn({2, 3, 7, 4}),
             v = torch::randn({2, 3, 7, 4});
  at::Tensor plain = attention(q, k, v, at::Tensor(), false, 0.5);
  AttentionCapture cap;
  cap.query_begin = 2;
  cap.key_begin = 1;
  cap.key_end = 4;
  at::Tensor captured = attention(q, k, v, at::Tensor(), false, 0.5, &cap);
  EXPECT_TRUE(torch::allclose(plain, captured, 1e-5, 1e-6));
  EXPECT_EQ(cap.probs.sizes(), (std::vector<int64_t>{2, 3, 3, 3}));
  at::Tensor full = torch::softmax(torch::matmul(q, k.transpose(-2, -1)) * 0.5, -1);
  EXPECT_TRUE(torch::allclose(cap.probs, full.slice(2, 2).slice(3, 1, 4), 1e-5, 1e-6));
}

// Long sequences are computed in blocks of query rows (8 heads × 2100² scores exceed one block),
// with per-row masks, broadcast masks and the causal mask sliced along, as if in one piece.
TEST(Attention, LongSequencesInQueryBlocksGiveTheWholeResult) {
  torch::manual_seed(2);
  const int64_t t = 2100;
  at::Tensor q = torch::randn({1, 8, t, 8}), k = torch::randn({1, 8, t, 8}),
             v = torch::randn({1, 8, t, 8});
  at::Tensor rows = torch::zeros({1, 1, t, t});
  rows.narrow(3, 0, 100).fill_(-1e9);  // every row ignores the first 100 keys
  for (const at::Tensor& mask : {at::Tensor(), rows, torch::zeros({1, 1, 1, t})}) {
    at::Tensor blocked = attention(q, k, v, mask, false, 0.35);
    EXPECT_TRUE(torch::allclose(blocked, reference(q, k, v, mask, 0.35), 1e-4, 1e-5));
  }
  at::Tensor causal = attention(q, k, v, at::Tensor(), true, 0.35);
  EXPECT_TRUE(torch::allclose(causal, reference(q, k, v, causal_mask(t, t, q.options()), 0.35),
                              1e-4, 1e-5));
}

TEST(Attention, CausalMaskAlignsAtTheEnd) {
  at::Tensor m = causal_mask(2, 4, torch::TensorOptions());
  // The 2 queries are the last 2 of 4 positions: the first sees keys 0..2, the second 0..3.
  EXPECT_TRUE(std::isinf(m[0][3].item<float>()));
  EXPECT_EQ(m[0][2].item<float>(), 0.0f);
  EXPECT_EQ(m[1][3].item<float>(), 0.0f);
  torch::manual_seed(2);
  at::Tensor q = torch::randn({1, 2, 4, 8}), k = torch::randn({1, 2, 4, 8}),
             v = torch::randn({1, 2, 4, 8});
  EXPECT_TRUE(torch::allclose(attention(q, k, v, at::Tensor(), true, 0.3),
                              reference(q, k, v, causal_mask(4, 4, q.options()), 0.3), 1e-5, 1e-6));
}

TEST(Attention, GroupedQueryHeadsShareKeysAndValues) {
  torch::manual_seed(3);
  at::Tensor q = torch::randn({1, 4, 3, 8}), k = torch::randn({1, 2, 3, 8}),
             v = torch::randn({1, 2, 3, 8});
  at::Tensor out = attention(q, k, v, at::Tensor(), false, 0.35);
  at::Tensor expanded =
      reference(q, k.repeat_interleave(2, 1), v.repeat_interleave(2, 1), at::Tensor(), 0.35);
  EXPECT_TRUE(torch::allclose(out, expanded, 1e-5, 1e-6));
}

TEST(Attention, GradientsFlowThroughTheCapturedBlock) {
  torch::manual_seed(4);
  at::Tensor q = torch::randn({1, 1, 3, 4}, torch::requires_grad());
  at::Tensor k = torch::randn({1, 1, 3, 4}), v = torch::randn({1, 1, 3, 4});
  AttentionCapture cap;
  attention(q, k, v, at::Tensor(), false, 0.5, &cap);
  cap.probs.select(3, 0).sum().backward();
  EXPECT_GT(q.grad().abs().sum().item<float>(), 0.0f);
}

}  // namespace
}  // namespace lavender::nn
