#include "lavender/train/schedule.h"

#include <gtest/gtest.h>

#include <cmath>

#include "lavender/util/error.h"

namespace lavender::train {
namespace {

TEST(Schedule, LearningRateWarmsUpThenDecays) {
  LrSchedule s;
  s.lr = 1.0;
  s.warmup_steps = 10;
  EXPECT_DOUBLE_EQ(learning_rate(s, 0, 110), 0.0);
  EXPECT_DOUBLE_EQ(learning_rate(s, 5, 110), 0.5);
  EXPECT_DOUBLE_EQ(learning_rate(s, 10, 110), 1.0);
  EXPECT_NEAR(learning_rate(s, 60, 110), 0.5, 1e-12);  // cosine half way
  EXPECT_NEAR(learning_rate(s, 110, 110), 0.0, 1e-12);
  s.kind = LrSchedule::Kind::linear;
  s.min_ratio = 0.1;
  EXPECT_NEAR(learning_rate(s, 60, 110), 0.55, 1e-12);
  s.kind = LrSchedule::Kind::constant;
  EXPECT_DOUBLE_EQ(learning_rate(s, 100, 110), 1.0);
  EXPECT_THROW(parse_lr_schedule("step"), Error);
}

TEST(Schedule, LambdaConstantDecayAndInverse) {
  LambdaSchedule s;
  EXPECT_DOUBLE_EQ(lambda_at(s, 50, 100), 10.0);
  s.kind = parse_lambda_schedule("exp-decay");
  s.factor = 2.0;
  EXPECT_NEAR(lambda_at(s, 50, 100), 10.0 * std::exp(-1.0), 1e-12);
  s.kind = parse_lambda_schedule("inverse");
  EXPECT_NEAR(lambda_at(s, 0, 100), 0.0, 1e-12);
  EXPECT_NEAR(lambda_at(s, 100, 100), 10.0 * (1 - std::exp(-2.0)), 1e-12);
  EXPECT_THROW(parse_lambda_schedule("cosine"), Error);
}

TEST(Schedule, AlignerWarmupThenTextRamp) {
  TextWeightSchedule s{3, 4};
  EXPECT_TRUE(aligner_only(s, 2));
  EXPECT_FALSE(aligner_only(s, 3));
  EXPECT_DOUBLE_EQ(text_weight_at(s, 0), 0.0);
  EXPECT_DOUBLE_EQ(text_weight_at(s, 3), 0.25);
  EXPECT_DOUBLE_EQ(text_weight_at(s, 6), 1.0);
  EXPECT_DOUBLE_EQ(text_weight_at(s, 100), 1.0);
  EXPECT_DOUBLE_EQ(text_weight_at(TextWeightSchedule{}, 0), 1.0);
}

}  // namespace
}  // namespace lavender::train
