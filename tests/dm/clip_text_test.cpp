#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lavender/dm/clip_text.h"
#include "lavender/parity/parity.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::dm {
namespace {

TEST(ClipText, ParityWithTheReferenceFixture) {
  auto report = parity::run_parity(test::fixture_dir("clip_text"));
  EXPECT_EQ(report.exit_code(), parity::kExitPass) << report.format();
  EXPECT_EQ(report.comparisons.size(), 6u);  // 4 hidden states, last state, pooled
  for (const auto& c : report.comparisons) EXPECT_LT(c.max_abs_diff, 1e-5) << c.name;
}

TEST(ClipText, SdTextEncoderMatchesEncoderHiddenStates) {
  auto report = parity::run_parity(test::fixture_dir("sd_tiny"));
  bool seen = false;
  for (const auto& c : report.comparisons)
    if (c.name == "encoder_hidden_states") {
      seen = true;
      EXPECT_TRUE(c.passed) << report.format();
    }
  EXPECT_TRUE(seen);
}

TEST(ClipText, CausalityAndBatchIndependence) {
  io::config::ClipTextConfig c;
  c.vocab_size = 50, c.hidden_size = 16, c.intermediate_size = 24, c.num_attention_heads = 2;
  c.head_dim = 8, c.num_hidden_layers = 2, c.max_position_embeddings = 10, c.eos_token_id = 49;
  torch::manual_seed(0);
  ClipTextModel model(c);
  torch::NoGradGuard no_grad;
  at::Tensor a = torch::tensor({{1, 5, 7, 49, 3, 3}}, torch::kLong);
  at::Tensor b = torch::tensor({{1, 5, 7, 49, 8, 9}}, torch::kLong);
  auto ya = model->forward(a), yb = model->forward(b);
  // Causal: changing tokens after position 3 leaves positions 0..3 (and the pooled eos) alone.
  EXPECT_TRUE(torch::allclose(ya.last_hidden_state.slice(1, 0, 4),
                              yb.last_hidden_state.slice(1, 0, 4), 1e-6, 1e-6));
  EXPECT_TRUE(torch::allclose(ya.pooler_output, ya.last_hidden_state[0][3].unsqueeze(0)));
  auto both = model->forward(torch::cat({a, b}));
  EXPECT_TRUE(torch::allclose(both.last_hidden_state[1], yb.last_hidden_state[0], 1e-5, 1e-6));
  EXPECT_THROW(model->forward(torch::zeros({1, 11}, torch::kLong)), Error);
}

}  // namespace
}  // namespace lavender::dm
