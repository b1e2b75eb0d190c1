#include "lavender/align/alignment_loss.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lavender/align/attention_maps.h"

namespace lavender::align {
namespace {

TEST(AlignmentLoss, AveragingRowsCommutesWithTheResize) {
  at::Tensor probs = torch::rand({2, 3, 5, 16});  // B, H, rows, 4×4 image tokens
  at::Tensor avg = torch::zeros({2, 2, 5});
  avg[0][0][1] = 0.5, avg[0][0][3] = 0.5, avg[0][1][4] = 1, avg[1][0][0] = 1;
  at::Tensor words = self_attention_maps(student_word_block(probs, avg), 8);
  at::Tensor rows = self_attention_maps(probs, 8);  // [B, H, rows, 8, 8]
  EXPECT_TRUE(torch::allclose(words[0].select(1, 0),
                              (rows[0].select(1, 1) + rows[0].select(1, 3)) / 2, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(words[1].select(1, 0), rows[1].select(1, 0), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(words[1].select(1, 1), torch::zeros({3, 8, 8})));
}

TEST(AlignmentLoss, MeanOfPerWordMsesOverValidWordsOnly) {
  torch::manual_seed(0);
  AlignmentOptions o;
  AttentionAlignment a(o, 4);
  EXPECT_EQ(a->aligner->options().in_channels, 4);
  at::Tensor maps = torch::rand({2, 3, 4, 2, 8, 8}, torch::requires_grad());
  at::Tensor teacher = torch::rand({2, 2, 8, 8});
  at::Tensor valid = torch::tensor({true, false, true, true}).view({2, 2});
  AlignmentResult r = a->forward(maps, teacher, valid);
  EXPECT_EQ(r.words, 3);
  ASSERT_EQ(r.student.sizes(), (std::vector<int64_t>{3, 8, 8}));
  at::Tensor expected = (r.student - r.teacher).pow(2).mean({1, 2}).sum() / 3;
  EXPECT_NEAR(r.loss.item<double>(), expected.item<double>(), 1e-6);
  EXPECT_TRUE(torch::equal(r.teacher[1], teacher[1][0]));  // the padding word was left out
  r.loss.backward();
  EXPECT_TRUE(maps.grad().defined());
  EXPECT_TRUE(torch::equal(maps.grad().select(3, 1)[0], torch::zeros({3, 4, 8, 8})));
  // No valid word: a zero loss, no Aligner call.
  AlignmentResult none = a->forward(maps, teacher, torch::zeros({2, 2}, torch::kBool));
  EXPECT_EQ(none.words, 0);
  EXPECT_EQ(none.loss.item<double>(), 0.0);
}

}  // namespace
}  // namespace lavender::align
