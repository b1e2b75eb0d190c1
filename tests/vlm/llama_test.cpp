#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "lavender/util/error.h"
#include "lavender/vlm/llama.h"
#include "vlm/tiny_models.h"

namespace lavender::vlm {
namespace {

TEST(LlamaMasks, CausalPlusPaddingWithCacheOffset) {
  at::Tensor pad = torch::tensor({{0, 1, 1, 1}, {1, 1, 1, 1}}, torch::kLong);
  at::Tensor m = causal_padding_mask(pad, 2, 4, torch::TensorOptions());
  ASSERT_EQ(m.sizes(), (std::vector<int64_t>{2, 1, 2, 4}));
  const float low = std::numeric_limits<float>::lowest();
  // Queries are positions 2 and 3. Row 0's key 0 is padding.
  EXPECT_EQ(m[0][0][0][0].item<float>(), low);
  EXPECT_EQ(m[0][0][0][2].item<float>(), 0.f);
  EXPECT_EQ(m[0][0][0][3].item<float>(), low);  // future
  EXPECT_EQ(m[1][0][0][0].item<float>(), 0.f);
  EXPECT_EQ(m[1][0][1][3].item<float>(), 0.f);
  EXPECT_EQ(causal_padding_mask(at::Tensor(), 3, 3, torch::TensorOptions()).size(0), 1);
  EXPECT_THROW(causal_padding_mask(pad, 2, 5, torch::TensorOptions()), Error);
}

TEST(LlamaMasks, PositionIdsCountRealTokens) {
  at::Tensor left = torch::tensor({{0, 0, 1, 1, 1}}, torch::kLong);
  at::Tensor right = torch::tensor({{1, 1, 1, 0, 0}}, torch::kLong);
  EXPECT_TRUE(torch::equal(position_ids_from_mask(left), torch::tensor({{1, 1, 0, 1, 2}})));
  EXPECT_TRUE(torch::equal(position_ids_from_mask(right), torch::tensor({{0, 1, 2, 1, 1}})));
}

TEST(LlamaAttention, GroupedQueryAttentionSharesKeyValueHeads) {
  auto c = test::tiny_llama_config();
  torch::manual_seed(0);
  LlamaAttention attn(c);
  torch::NoGradGuard no_grad;
  at::Tensor x = torch::randn({1, 5, c.hidden_size});
  nn::RotaryEmbedding rope(c.rope, c.head_dim);
  auto [cos, sin] = rope.cos_sin(torch::arange(5).unsqueeze(0), torch::kFloat);
  at::Tensor mask = causal_padding_mask(at::Tensor(), 5, 5, x.options());
  at::Tensor ours = attn(x, cos, sin, mask);

  // By hand: 4 query heads, 2 key/value heads; query heads 0,1 use kv head 0, 2,3 use kv head 1.
  auto heads = [&](const at::Tensor& y, int64_t n) { return y.view({1, 5, n, 8}).transpose(1, 2); };
  at::Tensor q = nn::apply_rotary(heads(attn->q_proj(x), 4), cos, sin);
  at::Tensor k = nn::apply_rotary(heads(attn->k_proj(x), 2), cos, sin);
  at::Tensor v = heads(attn->v_proj(x), 2);
  std::vector<at::Tensor> outs;
  for (int64_t h = 0; h < 4; ++h) {
    at::Tensor s = torch::matmul(q[0][h], k[0][h / 2].t()) / std::sqrt(8.0);
    s = s.masked_fill(torch::ones({5, 5}, torch::kBool).triu(1), -INFINITY);
    outs.push_back(torch::matmul(torch::softmax(s, -1), v[0][h / 2]));
  }
  at::Tensor expected = attn->o_proj(torch::cat(outs, -1).unsqueeze(0));
  EXPECT_TRUE(torch::allclose(ours, expected, 1e-5, 1e-5));
}

TEST(LlamaModel, IncrementalDecodingWithTheCacheEqualsTheFullForward) {
  auto c = test::tiny_llama_config();
  torch::manual_seed(1);
  LlamaModel model(c);
  model->eval();
  torch::NoGradGuard no_grad;
  at::Tensor ids = torch::randint(0, c.vocab_size, {2, 9});
  at::Tensor full = model->forward(model->embed(ids));

  KvCache cache = model->make_cache();
  LlamaForwardOptions o;
  o.cache = &cache;
  at::Tensor prefill = model->forward(model->embed(ids.slice(1, 0, 6)), o);
  EXPECT_TRUE(torch::allclose(prefill, full.slice(1, 0, 6), 1e-5, 1e-5));
  for (int64_t t = 6; t < 9; ++t) {
    at::Tensor step = model->forward(model->embed(ids.slice(1, t, t + 1)), o);
    EXPECT_TRUE(torch::allclose(step, full.slice(1, t, t + 1), 1e-5, 1e-5)) << "t=" << t;
  }
  EXPECT_EQ(cache.length(), 9);
}

TEST(LlamaModel, LeftPaddingLeavesRealTokensUnchanged) {
  auto c = test::tiny_llama_config();
  torch::manual_seed(2);
  LlamaModel model(c);
  torch::NoGradGuard no_grad;
  at::Tensor ids = torch::randint(1, c.vocab_size, {1, 6});
  at::Tensor alone = model->forward(model->embed(ids));

  // The same tokens after two pads; positions from the mask restart at the first real token.
  at::Tensor padded = torch::cat({torch::zeros({1, 2}, torch::kLong), ids}, 1);
  at::Tensor mask = torch::tensor({{0, 0, 1, 1, 1, 1, 1, 1}}, torch::kLong);
  LlamaForwardOptions o;
  o.attention_mask = mask;
  o.position_ids = position_ids_from_mask(mask);
  at::Tensor out = model->forward(model->embed(padded), o);
  EXPECT_TRUE(torch::allclose(out.slice(1, 2), alone, 1e-5, 1e-5));
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());  // padded query rows stay finite

  // With a cache too: prefill the padded prompt, decode one more token.
  KvCache cache = model->make_cache();
  LlamaForwardOptions p = o;
  p.cache = &cache;
  model->forward(model->embed(padded), p);
  at::Tensor next = torch::tensor({{7}}, torch::kLong);
  LlamaForwardOptions d;
  d.cache = &cache;
  d.attention_mask = torch::cat({mask, torch::ones({1, 1}, torch::kLong)}, 1);
  d.position_ids = torch::tensor({{6}}, torch::kLong);
  at::Tensor step = model->forward(model->embed(next), d);
  at::Tensor reference = model->forward(model->embed(torch::cat({ids, next}, 1)));
  EXPECT_TRUE(torch::allclose(step, reference.slice(1, 6), 1e-5, 1e-5));
}

// Training batches are right-padded: layers that capture nothing attend causally without the
// padding mask (what fused kernels take), and real tokens come out the same; a captured layer
// keeps the mask, so its probabilities never cover padding.
TEST(LlamaModel, RightPaddedBatchesNeedOnlyCausalityWhereNothingIsCaptured) {
  auto c = test::tiny_llama_config();
  torch::manual_seed(4);
  LlamaModel model(c);
  torch::NoGradGuard no_grad;
  at::Tensor ids = torch::randint(1, c.vocab_size, {2, 7});
  at::Tensor mask = torch::ones({2, 7}, torch::kLong);
  mask[1].slice(0, 4).fill_(0);  // the second row: 4 real tokens, then padding
  for (bool capturing : {false, true}) {
    nn::AttentionCapture cap;
    LlamaForwardOptions o;
    o.attention_mask = mask;
    if (capturing) o.captures = {nullptr, &cap, nullptr};
    at::Tensor dense = model->forward(model->embed(ids), o);
    at::Tensor dense_probs = cap.probs;
    o.right_padded = true;
    at::Tensor causal = model->forward(model->embed(ids), o);
    EXPECT_TRUE(torch::allclose(causal[0], dense[0], 1e-5, 1e-6)) << capturing;
    EXPECT_TRUE(torch::allclose(causal[1].slice(0, 0, 4), dense[1].slice(0, 0, 4), 1e-5, 1e-6))
        << capturing;
    if (capturing) {  // the real rows' probabilities
      EXPECT_TRUE(torch::allclose(cap.probs[0], dense_probs[0], 1e-5, 1e-6));
      EXPECT_TRUE(
          torch::allclose(cap.probs[1].slice(1, 0, 4), dense_probs[1].slice(1, 0, 4), 1e-5, 1e-6));
    }
  }
}

TEST(LlamaModel, CapturedLayersReturnProbabilitiesOthersDoNot) {
  auto c = test::tiny_llama_config();
  torch::manual_seed(3);
  LlamaModel model(c);
  at::Tensor x = torch::randn({1, 7, c.hidden_size});
  nn::AttentionCapture cap;
  cap.query_begin = 4;
  cap.key_begin = 1;
  cap.key_end = 3;
  LlamaForwardOptions o;
  o.captures = {nullptr, &cap, nullptr};
  at::Tensor with = model->forward(x, o);
  at::Tensor without = model->forward(x);
  EXPECT_TRUE(torch::allclose(with, without, 1e-5, 1e-6));
  ASSERT_EQ(cap.probs.sizes(), (std::vector<int64_t>{1, 4, 3, 2}));
  cap.probs.sum().backward();
  auto* layer1 = model->layers[1]->as<LlamaDecoderLayer>();
  ASSERT_TRUE(layer1->self_attn->q_proj->weight.grad().defined());
  EXPECT_GT(layer1->self_attn->q_proj->weight.grad().abs().sum().item<double>(), 0);
  // Nothing after layer 1 shapes its attention.
  auto* layer2 = model->layers[2]->as<LlamaDecoderLayer>();
  EXPECT_FALSE(layer2->self_attn->q_proj->weight.grad().defined() &&
               layer2->self_attn->q_proj->weight.grad().abs().sum().item<double>() > 0);
}

TEST(KvCache, GrowsInPlaceAndKeepsEarlierEntries) {
  torch::NoGradGuard no_grad;
  LayerKvCache c;
  at::Tensor all = torch::randn({1, 2, 10, 4});
  for (int64_t t = 0; t < 10; ++t) c.append(all.slice(2, t, t + 1), all.slice(2, t, t + 1));
  auto [k, v] = c.append(torch::zeros({1, 2, 1, 4}), torch::zeros({1, 2, 1, 4}));
  EXPECT_EQ(c.length(), 11);
  EXPECT_TRUE(torch::equal(k.slice(2, 0, 10), all));
  EXPECT_THROW(c.append(torch::zeros({2, 2, 1, 4}), torch::zeros({2, 2, 1, 4})), Error);
}

}  // namespace
}  // namespace lavender::vlm
