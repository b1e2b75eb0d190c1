#include "lavender/demo/axis_ticks.h"

#include <gtest/gtest.h>

namespace lavender {
namespace {

std::vector<std::string> labels(const demo::AxisTicks& t) {
  std::vector<std::string> out;
  for (double v : t.values) out.push_back(demo::tick_label(v, t.decimals));
  return out;
}

using Labels = std::vector<std::string>;

TEST(AxisTicks, TrainingStepsTickOnHundreds) {
  const demo::AxisTicks t = demo::nice_ticks(0, 451.2);
  EXPECT_DOUBLE_EQ(t.step, 100);
  EXPECT_EQ(labels(t), (Labels{"0", "100", "200", "300", "400", "500"}));
  EXPECT_EQ(labels(demo::nice_ticks(1, 100)), (Labels{"0", "20", "40", "60", "80", "100"}));
}

TEST(AxisTicks, FractionsTickOnRoundDecimals) {
  const demo::AxisTicks t = demo::nice_ticks(0.03, 0.92);
  EXPECT_DOUBLE_EQ(t.step, 0.2);
  EXPECT_EQ(t.decimals, 1);
  EXPECT_EQ(labels(t), (Labels{"0.0", "0.2", "0.4", "0.6", "0.8", "1.0"}));
  EXPECT_EQ(labels(demo::nice_ticks(2.31, 2.47)), (Labels{"2.30", "2.35", "2.40", "2.45", "2.50"}));
}

TEST(AxisTicks, TheAxisCoversTheDataWithFewTicks) {
  for (auto [lo, hi] : {std::pair{0.0, 451.2},
                        {0.03, 0.92},
                        {-3.7, 12.1},
                        {1e-4, 3e-4},
                        {150.8, 450.2},
                        {0.0, 1e6}}) {
    const demo::AxisTicks t = demo::nice_ticks(lo, hi);
    EXPECT_LE(t.lo, lo) << lo << " " << hi;
    EXPECT_GE(t.hi, hi) << lo << " " << hi;
    EXPECT_GE(t.values.size(), 2u);
    EXPECT_LE(t.values.size(), 6u) << lo << " " << hi;
  }
}

TEST(AxisTicks, ADegenerateRangeIsWidenedAroundItsValue) {
  const demo::AxisTicks t = demo::nice_ticks(2, 2);
  EXPECT_LT(t.lo, 2);
  EXPECT_GT(t.hi, 2);
  EXPECT_EQ(labels(t), (Labels{"1.8", "1.9", "2.0", "2.1", "2.2"}));
  EXPECT_EQ(labels(demo::nice_ticks(0, 0)), (Labels{"-1.0", "-0.5", "0.0", "0.5", "1.0"}));
}

TEST(AxisTicks, LabelsHaveNoNegativeZero) {
  EXPECT_EQ(demo::tick_label(-1e-17, 1), "0.0");
  EXPECT_EQ(demo::tick_label(-0.0, 0), "0");
  EXPECT_EQ(demo::tick_label(-0.5, 1), "-0.5");
}

}  // namespace
}  // namespace lavender
