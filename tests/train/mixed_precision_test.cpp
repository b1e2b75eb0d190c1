// Mixed precision: master copies that keep what bf16 rounds away, and loss scaling that is exact
// when nothing overflows and backs off when something does.
#include "lavender/train/mixed_precision.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lavender/io/safetensors.h"
#include "lavender/train/parameter_update.h"
#include "lavender/train/trainer.h"
#include "lavender/util/error.h"
#include "lavender/vlm/llava.h"
#include "train/tiny_training_run.h"

namespace lavender::train {
namespace {

TEST(MasterWeights, NarrowParametersGetAnFp32CopyThatCollectsTheirGradients) {
  at::Tensor narrow = torch::full({3}, 1.0, torch::kBFloat16).requires_grad_(true);
  at::Tensor wide = torch::full({2}, 1.0).requires_grad_(true);
  MasterWeights masters({narrow, wide}, at::kFloat);
  EXPECT_TRUE(masters.separate());
  auto m = masters.masters_of({narrow, wide});
  EXPECT_EQ(m[0].scalar_type(), at::kFloat);
  EXPECT_TRUE(m[1].is_same(wide));  // already fp32: its own master
  for (int micro = 0; micro < 2; ++micro) {
    (narrow.to(at::kFloat).sum() * 1e-3).backward();
    masters.accumulate_gradients();
    EXPECT_FALSE(narrow.grad().defined());  // freed once folded in
  }
  EXPECT_TRUE(torch::allclose(m[0].grad(), torch::full({3}, 2e-3), 1e-2));
  // An update far below bf16's resolution at 1.0 (2^-8) survives in the master...
  {
    torch::NoGradGuard no_grad;
    m[0].sub_(1e-4);
  }
  masters.publish();
  EXPECT_FLOAT_EQ(m[0][0].item<float>(), 1.0f - 1e-4f);
  // ...while the model's bf16 copy rounds it away until updates add up.
  EXPECT_EQ(narrow[0].item<float>(), 1.0f);
  EXPECT_THROW(masters.masters_of({torch::zeros({1})}), Error);
  EXPECT_FALSE(MasterWeights({wide}, at::kFloat).separate());
}

TEST(LossScale, Spellings) {
  EXPECT_TRUE(parse_loss_scale("auto", at::kHalf).dynamic);
  EXPECT_EQ(parse_loss_scale("auto", at::kHalf).scale, 65536);
  EXPECT_FALSE(parse_loss_scale("auto", at::kBFloat16).dynamic);
  EXPECT_EQ(parse_loss_scale("auto", at::kBFloat16).scale, 1);
  EXPECT_TRUE(parse_loss_scale("dynamic", at::kFloat).dynamic);
  EXPECT_EQ(parse_loss_scale("dynamic:1024", at::kFloat).scale, 1024);
  EXPECT_FALSE(parse_loss_scale("128", at::kHalf).dynamic);
  EXPECT_EQ(parse_loss_scale("128", at::kHalf).scale, 128);
  EXPECT_EQ(parse_loss_scale("none", at::kHalf).scale, 1);
  for (const char* bad : {"", "0", "-2", "dynamic:", "dynamic:x", "dynamic2", "inf", "big"})
    EXPECT_THROW(parse_loss_scale(bad, at::kHalf), Error) << bad;
}

TEST(LossScaler, BacksOffOnOverflowAndGrowsAfterARunOfGoodSteps) {
  LossScaleOptions o;
  o.dynamic = true;
  o.scale = 1024;
  o.interval = 3;
  LossScaler s(o);
  EXPECT_TRUE(s.update(false));
  EXPECT_EQ(s.scale(), 512);
  EXPECT_TRUE(s.update(true));
  EXPECT_TRUE(s.update(true));
  EXPECT_TRUE(s.update(false));  // the run of good steps starts over
  EXPECT_EQ(s.scale(), 256);
  for (int i = 0; i < 3; ++i) s.update(true);
  EXPECT_EQ(s.scale(), 512);
  LossScaler resumed(o);
  resumed.restore(s.state());
  EXPECT_EQ(resumed.scale(), 512);
  // At the floor an overflow is the loss's fault, not the scale's.
  o.scale = o.min_scale;
  EXPECT_FALSE(LossScaler(o).update(false));
  // A fixed scale never moves and never excuses an overflow.
  LossScaler fixed(parse_loss_scale("64", at::kFloat));
  EXPECT_FALSE(fixed.update(false));
  for (int i = 0; i < 5000; ++i) fixed.update(true);
  EXPECT_EQ(fixed.scale(), 64);
}

TrainOptions mixed_precision_options(const test::TinyTrainingRun& run, const std::string& out) {
  TrainOptions o = test::tiny_run_options(run, out);
  o.max_steps = 3;
  o.batch_size = 2;
  o.grad_accum = 2;
  o.lr.lr = 1e-3;
  o.lr.warmup_steps = 0;
  o.seed = 3;
  return o;
}

// The checkpoint's copy of one decoder projection, and the fixture's value rounded to bf16.
std::pair<at::Tensor, at::Tensor> trained_and_initial(const std::string& model,
                                                      const std::string& checkpoint) {
  auto saved = io::SafetensorsFile::open(checkpoint + "/trainable.safetensors");
  for (const auto& p : vlm::load_llava(model)->named_parameters()) {
    if (p.key().find("layers.0.self_attn.q_proj.weight") == std::string::npos) continue;
    return {saved->tensor("student." + p.key()).to(at::kFloat),
            p.value().to(at::kBFloat16).to(at::kFloat)};
  }
  ADD_FAILURE() << "no q_proj in " << model;
  return {};
}

// lr 1e-6 moves a weight of ~0.02 by far less than half a bf16 step (~4e-5): pure bf16 training
// loses the updates, fp32 masters keep every one.
TEST(MixedPrecision, Fp32MasterWeightsKeepUpdatesThatBf16RoundsAway) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path());
  TrainOptions o = mixed_precision_options(run, dir.file("master"));
  o.dtype = "bf16";
  o.lr.lr = 1e-6;
  TrainSummary master = Trainer(o).run();
  o.master_weights = "bf16";
  o.out = dir.file("pure");
  TrainSummary pure = Trainer(o).run();

  auto changed = [](const std::pair<at::Tensor, at::Tensor>& t) {
    return t.first.ne(t.second).to(at::kDouble).mean().item<double>();
  };
  const auto m = trained_and_initial(run.model, master.checkpoint);
  const auto p = trained_and_initial(run.model, pure.checkpoint);
  EXPECT_GT(changed(m), 0.95);  // measured: 100 %
  EXPECT_LT(changed(p), 0.05);  // measured: 0.5 %
  // Each fp32 master moved by about lr per Adam step, no more.
  EXPECT_LT((m.first - m.second).abs().max().item<double>(), 4e-6);
}

// The checkpoint holds the fp32 masters (not the bf16 copies), so a resumed run continues exactly.
TEST(MixedPrecision, AResumedBf16RunContinuesFromItsMasters) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path());
  TrainOptions o = mixed_precision_options(run, dir.file("whole"));
  o.dtype = "bf16";
  o.loss_scale = "dynamic";
  TrainSummary whole = Trainer(o).run();
  o.out = dir.file("split");
  Trainer first(o);
  first.set_stop_check([](const StepRecord& r) { return r.step == 1; });
  TrainSummary a = first.run();
  ASSERT_TRUE(a.interrupted);
  o.resume = true;
  TrainSummary b = Trainer(o).run();
  ASSERT_EQ(a.history.size() + b.history.size(), whole.history.size());
  for (size_t i = 0; i < b.history.size(); ++i) {
    const StepRecord &r = b.history[i], &w = whole.history[i + a.history.size()];
    EXPECT_EQ(r.total, w.total) << "step " << r.step;
    EXPECT_EQ(r.grad_norm, w.grad_norm) << "step " << r.step;
    EXPECT_EQ(r.loss_scale, w.loss_scale) << "step " << r.step;
  }
}

// Scaling by a power of two and back is exact in fp32 while nothing overflows.
TEST(MixedPrecision, LossScalingChangesNothingWhenNothingOverflows) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path());
  TrainOptions o = mixed_precision_options(run, dir.file("none"));
  TrainSummary none = Trainer(o).run();
  for (const char* scale : {"dynamic", "1024"}) {
    o.loss_scale = scale;
    o.out = dir.file(scale);
    TrainSummary scaled = Trainer(o).run();
    ASSERT_EQ(scaled.history.size(), none.history.size());
    for (size_t i = 0; i < none.history.size(); ++i) {
      const StepRecord &a = none.history[i], &b = scaled.history[i];
      EXPECT_EQ(a.loss_scale, 1);
      EXPECT_EQ(b.loss_scale, scale == std::string("1024") ? 1024 : 65536);
      EXPECT_FALSE(b.skipped);
      EXPECT_NEAR(b.total, a.total, 1e-6 * a.total) << scale << " step " << b.step;
      EXPECT_NEAR(b.grad_norm, a.grad_norm, 1e-5 * a.grad_norm) << scale << " step " << b.step;
    }
  }
}

// A scale so large that the scaled gradients overflow: those steps are skipped and the scale
// halves until the gradients fit, without counting as bad steps; then training goes on.
TEST(MixedPrecision, DynamicLossScaleBacksOffThroughOverflowsAndTrains) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path());
  TrainOptions o = mixed_precision_options(run, dir.file("out"));
  o.batch_size = 1;
  o.grad_accum = 1;
  o.max_steps = 40;
  o.max_bad_steps = 2;
  o.loss_scale = "dynamic:3e38";
  Trainer trainer(o);
  int taken = 0;
  trainer.set_stop_check([&](const StepRecord& r) { return !r.skipped && ++taken == 2; });
  TrainSummary s = trainer.run();
  ASSERT_GT(s.history.size(), 3u);
  EXPECT_TRUE(s.history[0].skipped);
  EXPECT_TRUE(s.history[1].skipped);
  EXPECT_TRUE(s.history[2].skipped);  // more overflows in a row than max_bad_steps allows
  for (size_t i = 1; i < s.history.size(); ++i) {
    const StepRecord &before = s.history[i - 1], &r = s.history[i];
    // A step of only unusable samples (the tiny run has one) is skipped with nothing to scale.
    const bool overflowed = before.skipped && before.samples > 0;
    EXPECT_EQ(r.loss_scale, overflowed ? before.loss_scale / 2 : before.loss_scale) << r.step;
  }
  EXPECT_FALSE(s.history.back().skipped);
  EXPECT_EQ(taken, 2);
  EXPECT_TRUE(std::isfinite(s.history.back().grad_norm));
}

TEST(MixedPrecision, ClearErrors) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path());
  TrainOptions o = mixed_precision_options(run, dir.file("out"));
  o.master_weights = "bf16";  // narrower than the fp32 weights
  EXPECT_THROW(ParameterUpdate::check_options(o), Error);
  EXPECT_THROW(Trainer(o).run(), Error);
  o.master_weights = "fp32";
  o.loss_scale = "sometimes";
  EXPECT_THROW(ParameterUpdate::check_options(o), Error);
  o.loss_scale = "auto";
  EXPECT_NO_THROW(ParameterUpdate::check_options(o));
}

}  // namespace
}  // namespace lavender::train
