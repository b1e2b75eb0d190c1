#include "lavender/nn/parallel_attention.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace lavender::nn {
namespace {

TEST(ParallelAttention, StartsAsThePretrainedAttentionRestrictedToTheBlock) {
  torch::manual_seed(3);
  const int64_t heads = 4, kv_heads = 2, d = 8, hidden = 16, t = 9;
  Linear q_proj(torch::nn::LinearOptions(hidden, heads * d).bias(false));
  Linear k_proj(torch::nn::LinearOptions(hidden, kv_heads * d).bias(false));
  ParallelProjections p(q_proj, k_proj, heads, kv_heads, d);
  at::Tensor x = torch::randn({2, t, hidden});
  auto split = [&](const at::Tensor& y, int64_t h) { return y.view({2, t, h, d}).transpose(1, 2); };
  at::Tensor q = split(q_proj(x), heads), k = split(k_proj(x), kv_heads);
  at::Tensor k_full = k.repeat_interleave(heads / kv_heads, 1);
  AttentionCapture block;
  block.query_begin = 5, block.key_begin = 1, block.key_end = 4;
  at::Tensor mask = causal_mask(t, t, x.options()).view({1, 1, t, t});
  at::Tensor got = parallel_block_probs(split(p->q(x), heads), split(p->k(x), heads), mask, 0.3, block);
  at::Tensor scores = torch::matmul(q.slice(2, 5), k_full.slice(2, 1, 4).transpose(-1, -2)) * 0.3;
  EXPECT_TRUE(torch::allclose(got, torch::softmax(scores, -1), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(got.sum(-1), torch::ones({2, heads, 4})));
  // The copies are independent parameters.
  EXPECT_NE(p->q->weight.data_ptr(), q_proj->weight.data_ptr());
}

}  // namespace
}  // namespace lavender::nn
