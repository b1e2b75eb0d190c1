#include "lavender/demo/report_findings.h"

#include <gtest/gtest.h>

namespace lavender {
namespace {

using demo::ModelResult;
using demo::Order;

TEST(ReportFindings, MeanAndSpread) {
  EXPECT_EQ(demo::mean_and_spread({}), "–");
  EXPECT_EQ(demo::mean_and_spread({0.5}), "0.500");
  EXPECT_EQ(demo::mean_and_spread({0.4, 0.6}), "0.500 ± 0.141");
}

TEST(ReportFindings, ADifferenceCountsOnlyBeyondTheSeedsSpread) {
  const ModelResult sft{"SFT", {0.49, 0.51, 0.526}};  // 0.509 ± 0.018
  EXPECT_EQ(demo::compare_results({"a", {0.40, 0.41, 0.42}}, sft, 3), Order::kBelow);
  EXPECT_EQ(demo::compare_results({"a", {0.60, 0.61, 0.62}}, sft, 3), Order::kAbove);
  // 0.493 ± 0.038 against 0.509 ± 0.018: 0.016 apart, well inside 0.056.
  EXPECT_EQ(demo::compare_results({"a", {0.455, 0.493, 0.531}}, sft, 3), Order::kWithinSpread);
  EXPECT_EQ(demo::compare_results({"a", {}}, sft, 3), Order::kUnknown);
  // Single runs: any difference beyond the shown precision counts; below it, none does.
  EXPECT_EQ(demo::compare_results({"a", {0.89}}, {"b", {0.967}}, 3), Order::kBelow);
  EXPECT_EQ(demo::compare_results({"a", {0.9671}}, {"b", {0.9674}}, 3), Order::kWithinSpread);
}

TEST(ReportFindings, EntropySaysSharperOrFlatterFromTheNumbers) {
  const demo::Wording w{"sharper", "flatter"};
  // The default run that the fixed sentence got wrong: the teacher is the flattest.
  const std::string flatter_teacher = demo::comparison_finding(
      "test-id", {"the diffusion model's maps", {0.967}},
      {{"SFT", {0.93, 0.94, 0.95}}, {"Lavender-GT", {0.88, 0.89, 0.90}}}, w);
  EXPECT_EQ(flatter_teacher,
            "test-id, against the diffusion model's maps (0.967): sharper — SFT (0.940 ± 0.010) "
            "and Lavender-GT (0.890 ± 0.010).");
  // And the other way round.
  const std::string sharper_teacher = demo::comparison_finding(
      "test-id", {"the diffusion model's maps", {0.80}},
      {{"SFT", {0.93, 0.94, 0.95}}, {"Lavender-GT", {0.79, 0.80, 0.81}}}, w);
  EXPECT_EQ(sharper_teacher,
            "test-id, against the diffusion model's maps (0.800): flatter — SFT (0.940 ± 0.010); "
            "no difference beyond the seeds' spread — Lavender-GT (0.800 ± 0.010).");
}

TEST(ReportFindings, AccuracyAgainstSftBothWaysAndWithOneSeed) {
  const demo::Wording w{"lower", "higher"};
  EXPECT_EQ(
      demo::comparison_finding("test-ood-combo", {"SFT", {0.43, 0.44}},
                               {{"Lavender-DM", {0.50, 0.52}}, {"Lavender-GT", {0.30, 0.31}}}, w),
      "test-ood-combo, against SFT (0.435 ± 0.007): lower — Lavender-GT (0.305 ± 0.007); "
      "higher — Lavender-DM (0.510 ± 0.014).");
  EXPECT_EQ(demo::comparison_finding("test-id", {"SFT", {0.5}},
                                     {{"Lavender-DM", {0.6}}, {"Lavender-GT", {0.5}}}, w),
            "test-id, against SFT (0.500): higher — Lavender-DM (0.600); no difference at the "
            "shown precision — Lavender-GT (0.500).");
  // Nothing to compare: no sentence.
  EXPECT_EQ(demo::comparison_finding("test-id", {"SFT", {}}, {{"Lavender-DM", {0.6}}}, w), "");
  EXPECT_EQ(demo::comparison_finding("test-id", {"SFT", {0.5}}, {{"Lavender-DM", {}}}, w), "");
}

}  // namespace
}  // namespace lavender
