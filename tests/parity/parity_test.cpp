#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lavender/parity/parity.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::parity {
namespace {

TEST(Parity, RecognisesEveryFixtureKind) {
  EXPECT_EQ(load_fixture(test::fixture_dir("clip_text")).kind, FixtureKind::clip_text);
  EXPECT_EQ(load_fixture(test::fixture_dir("llava")).kind, FixtureKind::llava);
  EXPECT_EQ(load_fixture(test::fixture_dir("mllama")).kind, FixtureKind::mllama);
  EXPECT_EQ(load_fixture(test::fixture_dir("sd_tiny")).kind, FixtureKind::sd);
  EXPECT_EQ(load_fixture(test::fixture_dir("preprocess")).kind, FixtureKind::preprocess);
  EXPECT_THROW(load_fixture(test::shared_dir()), Error);
}

TEST(Parity, ReferenceOutputsExcludeInputs) {
  auto f = load_fixture(test::fixture_dir("llava"));
  auto refs = f.reference_names();
  EXPECT_EQ(std::count(refs.begin(), refs.end(), "logits"), 1);
  EXPECT_EQ(std::count(refs.begin(), refs.end(), "input_ids"), 0);
  EXPECT_EQ(std::count(refs.begin(), refs.end(), "pixel_values"), 0);
}

TEST(Parity, TolerancesFollowTheFixtureReadme) {
  EXPECT_EQ(tolerance_for(FixtureKind::llava, "logits").abs, 1e-4);
  EXPECT_EQ(tolerance_for(FixtureKind::llava, "lm_attentions.0").abs, 1e-5);
  EXPECT_EQ(tolerance_for(FixtureKind::sd, "attn2.mid_block.x").abs, 1e-5);
  EXPECT_EQ(tolerance_for(FixtureKind::llava, "generate_row0").rule, Tolerance::Rule::exact);
  auto pre = tolerance_for(FixtureKind::preprocess, "clip336.pixel_values");
  EXPECT_EQ(pre.rule, Tolerance::Rule::mean_and_max);
  EXPECT_EQ(pre.mean, 1e-3);
  EXPECT_EQ(pre.abs, 2e-2);
}

TEST(Parity, CompareJudgesDifferencesShapesAndNaN) {
  at::Tensor ref = torch::tensor({1.0f, 2.0f, 1000.0f});
  Tolerance t{Tolerance::Rule::max_abs_or_rel, 1e-4, 1e-4};
  EXPECT_TRUE(compare("x", ref + torch::tensor({5e-5f, 0.0f, 0.05f}), ref, t).passed);
  EXPECT_FALSE(compare("x", ref + torch::tensor({2e-4f, 0.0f, 0.0f}), ref, t).passed);
  auto c = compare("x", torch::zeros({2}), ref, t);
  EXPECT_FALSE(c.passed);
  EXPECT_NE(c.note.find("shape"), std::string::npos);
  EXPECT_FALSE(compare("x", torch::tensor({NAN, 2.0f, 1000.0f}), ref, t).passed);
  Tolerance exact{Tolerance::Rule::exact};
  EXPECT_TRUE(compare("ids", torch::tensor({1, 2}), torch::tensor({1, 2}), exact).passed);
  EXPECT_FALSE(compare("ids", torch::tensor({1, 3}), torch::tensor({1, 2}), exact).passed);
}

TEST(Parity, RunnerResultsBecomePassFailOrPendingLines) {
  auto f = load_fixture(test::fixture_dir("sd_tiny"));
  // A runner that "computes" two outputs: one right (the stored value), one wrong.
  Runner runner = [](const Fixture& fx) {
    return Outputs{{"alphas_cumprod", fx.tensor("alphas_cumprod")},
                   {"latents", fx.tensor("latents") + 1e-3}};
  };
  Report r = run_parity(f, runner);
  ASSERT_EQ(r.comparisons.size(), 2u);
  EXPECT_EQ(r.exit_code(), kExitFail);
  std::string text = r.format();
  EXPECT_NE(text.find("PASS alphas_cumprod"), std::string::npos) << text;
  EXPECT_NE(text.find("FAIL latents"), std::string::npos) << text;
  EXPECT_NE(text.find("TODO unet_out"), std::string::npos) << text;

  Report none = run_parity(f, Runner{});
  EXPECT_EQ(none.exit_code(), kExitNotImplemented);
  EXPECT_EQ(none.pending.size(), f.reference_names().size());
}

TEST(Parity, EveryFixtureRunsWithoutFailures) {
  // Kinds without model code yet report pending outputs (exit 3); none may fail.
  for (const char* name : {"clip_text", "llava", "mllama", "sd_tiny", "preprocess"}) {
    Report r = run_parity(test::fixture_dir(name));
    EXPECT_NE(r.exit_code(), kExitFail) << r.format();
  }
}

}  // namespace
}  // namespace lavender::parity
