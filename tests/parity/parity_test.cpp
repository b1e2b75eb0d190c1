#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <functional>

#include "lavender/io/safetensors.h"
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
  EXPECT_EQ(load_fixture(test::fixture_dir("openflamingo")).kind, FixtureKind::openflamingo);
  EXPECT_EQ(load_fixture(test::fixture_dir("minicpmv")).kind, FixtureKind::minicpmv);
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
  EXPECT_EQ(tolerance_for(FixtureKind::openflamingo, "perceiver_attn.0").abs, 1e-5);
  EXPECT_EQ(tolerance_for(FixtureKind::openflamingo, "xattn.1").abs, 1e-5);
  EXPECT_EQ(tolerance_for(FixtureKind::openflamingo, "greedy_ids").rule, Tolerance::Rule::exact);
  EXPECT_EQ(tolerance_for(FixtureKind::openflamingo, "greedy_step_logits").abs, 1e-4);
  auto pre = tolerance_for(FixtureKind::preprocess, "clip336.pixel_values");
  EXPECT_EQ(pre.rule, Tolerance::Rule::mean_and_max);
  EXPECT_EQ(pre.mean, 1e-3);
  EXPECT_EQ(pre.abs, 2e-2);
  EXPECT_EQ(tolerance_for(FixtureKind::minicpmv, "resampler_attn_heads").abs, 1e-5);
  EXPECT_EQ(tolerance_for(FixtureKind::minicpmv, "pixel_values.3").rule,
            Tolerance::Rule::mean_and_max);
  EXPECT_EQ(tolerance_for(FixtureKind::minicpmv, "tgt_sizes").rule, Tolerance::Rule::exact);
  EXPECT_EQ(tolerance_for(FixtureKind::minicpmv, "vision_position_ids").rule,
            Tolerance::Rule::exact);
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

TEST(Parity, RunnerResultsBecomePassFailOrNotCheckedLines) {
  auto f = load_fixture(test::fixture_dir("sd_tiny"));
  // A runner that "computes" three outputs: one right (the stored value), one wrong, and one the
  // fixture has no reference for.
  Runner runner = [](const Fixture& fx) {
    return Outputs{{"alphas_cumprod", fx.tensor("alphas_cumprod")},
                   {"latents", fx.tensor("latents") + 1e-3},
                   {"unet_mid_features", torch::zeros({2})}};
  };
  Report r = run_parity(f, runner);
  ASSERT_EQ(r.comparisons.size(), 2u);
  EXPECT_EQ(r.exit_code(), kExitFail);
  std::string text = r.format();
  EXPECT_NE(text.find("PASS alphas_cumprod"), std::string::npos) << text;
  EXPECT_NE(text.find("FAIL latents"), std::string::npos) << text;
  EXPECT_NE(text.find("FAIL unet_out  (the fixture holds a reference; lavender produced nothing)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("---- unet_mid_features  (not checked"), std::string::npos) << text;
  EXPECT_EQ(r.unchecked, std::vector<std::string>{"unet_mid_features"});

  // Producing nothing fails on every reference the fixture holds.
  Report none = run_parity(f, Runner{});
  EXPECT_EQ(none.exit_code(), kExitFail);
  EXPECT_EQ(none.missing.size(), f.reference_names().size());
}

TEST(Parity, AnOutputWithoutAReferenceIsNotCheckedAndDoesNotFail) {
  auto f = load_fixture(test::fixture_dir("sd_tiny"));
  Runner runner = [](const Fixture& fx) {
    Outputs out;
    for (const auto& name : fx.reference_names()) out[name] = fx.tensor(name);
    out["extra_output"] = torch::ones({1});
    return out;
  };
  Report r = run_parity(f, runner);
  EXPECT_EQ(r.exit_code(), kExitPass) << r.format();
  EXPECT_NE(r.format().find("1 not checked"), std::string::npos) << r.format();
}

TEST(Parity, EveryFixtureKindHasARunnerAndPassesInFull) {
  for (const char* name : {"clip_text", "llava", "mllama", "sd_tiny", "preprocess", "minicpmv"}) {
    Fixture f = load_fixture(test::fixture_dir(name));
    Report r = run_parity(f, runner_for(f.kind));
    EXPECT_EQ(r.exit_code(), kExitPass) << r.format();
    EXPECT_TRUE(r.missing.empty()) << r.format();
    EXPECT_EQ(r.comparisons.size(), f.reference_names().size()) << r.format();
  }
}

TEST(Parity, OpenFlamingoFixturePassesEveryOutput) {
  Fixture f = load_fixture(test::fixture_dir("openflamingo"));
  Report r = run_parity(f, runner_for(f.kind));
  EXPECT_EQ(r.exit_code(), kExitPass) << r.format();
  EXPECT_TRUE(r.missing.empty()) << r.format();
  EXPECT_TRUE(r.unchecked.empty()) << r.format();
  EXPECT_EQ(r.comparisons.size(), f.reference_names().size()) << r.format();
}

// A copy of the LLaVA fixture whose io.safetensors holds only `keep` of the original tensors,
// plus `add`: fixtures written without labels or without the attention hooks.
class LlavaSubsetFixture {
 public:
  LlavaSubsetFixture(const std::function<bool(const std::string&)>& keep,
                     const std::vector<std::pair<std::string, at::Tensor>>& add = {}) {
    const std::string src = test::fixture_dir("llava");
    for (const char* file :
         {"config.json", "generation_config.json", "meta.json", "model.safetensors"})
      std::filesystem::copy_file(src + "/" + file, dir_.file(file));
    auto tensors = add;
    for (const auto& [name, t] : io::load_safetensors(src + "/io.safetensors"))
      if (keep(name)) tensors.emplace_back(name, t);
    io::save_safetensors(dir_.file("io.safetensors"), tensors);
  }
  const std::string& dir() const { return dir_.path(); }

 private:
  test::TempDir dir_;
};

bool starts_with(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

TEST(Parity, AFixtureWithoutLabelsOrHooksStillChecksLogitsAndAttention) {
  LlavaSubsetFixture fx([](const std::string& name) {
    return name != "labels" && name != "loss" && !starts_with(name, "hook.");
  });
  Report r = run_parity(fx.dir());
  EXPECT_EQ(r.exit_code(), kExitPass) << r.format();
  std::vector<std::string> checked;
  for (const auto& c : r.comparisons) checked.push_back(c.name);
  for (const char* name : {"logits", "lm_attentions.0", "image_hidden_states", "generate_row0"})
    EXPECT_EQ(std::count(checked.begin(), checked.end(), name), 1) << name << "\n" << r.format();
  // lavender still produces the hook tensors; with no reference they are listed, not judged.
  ASSERT_FALSE(r.unchecked.empty()) << r.format();
  for (const auto& name : r.unchecked) EXPECT_TRUE(starts_with(name, "hook.")) << name;
  EXPECT_EQ(std::count(r.unchecked.begin(), r.unchecked.end(), "loss"), 0) << r.format();
}

TEST(Parity, AReferenceLavenderDoesNotProduceFails) {
  LlavaSubsetFixture fx([](const std::string&) { return true; },
                        {{"hook.model.multi_modal_projector.linear_1", torch::zeros({1, 2})}});
  Report r = run_parity(fx.dir());
  EXPECT_EQ(r.exit_code(), kExitFail) << r.format();
  EXPECT_EQ(r.missing, std::vector<std::string>{"hook.model.multi_modal_projector.linear_1"});
}

}  // namespace
}  // namespace lavender::parity
