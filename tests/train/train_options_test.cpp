#include "lavender/train/train_options.h"

#include <gtest/gtest.h>

#include "lavender/util/error.h"

namespace lavender::train {
namespace {

TEST(TrainOptions, ConfigFillsTheSameOptionsAsTheCommandLine) {
  TrainOptions o;
  apply_config(o,
               nlohmann::json{{"lambda", 5},
                              {"lambda-schedule", "exp-decay"},
                              {"lr", 0.001},
                              {"align-layers", {0, -1}},
                              {"resume", true},
                              {"freeze", {"^a\\.", "^b\\."}},
                              {"no-shuffle", true}},
               "c.json");
  EXPECT_DOUBLE_EQ(o.lambda.lambda, 5.0);
  EXPECT_EQ(o.lambda.kind, LambdaSchedule::Kind::exp_decay);
  EXPECT_DOUBLE_EQ(o.lr.lr, 0.001);
  EXPECT_EQ(o.align_layers, (std::vector<int64_t>{0, -1}));
  EXPECT_TRUE(o.resume);
  EXPECT_FALSE(o.shuffle);
  EXPECT_EQ(o.freeze.size(), 2u);
  // Round trip through the written form.
  TrainOptions again;
  apply_config(again, options_json(o), "written");
  EXPECT_EQ(options_json(again), options_json(o));
}

TEST(TrainOptions, BadConfigsNameFileAndKey) {
  TrainOptions o;
  try {
    apply_config(o, nlohmann::json{{"lamda", 1}}, "run.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("run.json: unknown option \"lamda\""), std::string::npos);
  }
  EXPECT_THROW(apply_config(o, nlohmann::json{{"max-steps", "many"}}, "run.json"), Error);
  EXPECT_THROW(apply_config(o, nlohmann::json{{"batch-size", 0}}, "run.json"), Error);
  EXPECT_THROW(apply_config(o, nlohmann::json::array(), "run.json"), Error);
}

TEST(TrainOptions, ValidateNeedsMapsForLambda) {
  TrainOptions o;
  o.model = "m", o.data = "d", o.out = "o";
  EXPECT_THROW(validate(o), Error);  // lambda 10 without maps
  o.lambda.lambda = 0;
  EXPECT_NO_THROW(validate(o));
  o.model.clear();
  EXPECT_THROW(validate(o), Error);
}

TEST(TrainOptions, ValidateRefusesCountsBelowOne) {
  TrainOptions o;
  o.model = "m", o.data = "d", o.out = "o";
  o.lambda.lambda = 0;
  o.save_every = 0;  // would divide by zero in the step loop
  try {
    validate(o);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--save-every"), std::string::npos) << e.what();
  }
  o.save_every = 1;
  o.grad_accum = 0;
  EXPECT_THROW(validate(o), Error);
}

}  // namespace
}  // namespace lavender::train
