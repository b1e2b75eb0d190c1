// `lavender plan` on the real models' Hub configs, as a user runs it before renting GPUs.
#include <gtest/gtest.h>

#include "cli/run_cli.h"

namespace lavender {
namespace {

using test::run_cli;

std::string hub_config(const std::string& name) {
  return std::string(LAVENDER_SOURCE_DIR) + "/tests/data/hub-configs/" + name;
}

TEST(CliPlan, CountsAndVerdictForLlava7b) {
  const auto r = run_cli("plan --model " + hub_config("llava-1.5-7b-hf") +
                         " --dtype bf16 --master-weights fp32 --world-size 8 --sharding full "
                         "--gpu-memory 24 --gradient-checkpointing");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("parameters        7,063,427,072 = vision 303,507,456 + projector "
                          "20,979,712 + language 6,738,939,904"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("world size 8, sharding full"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("fits 24 GiB?     yes"), std::string::npos) << r.output;
}

TEST(CliPlan, ReplicatedFullFineTuningOf11bDoesNotFitOneCard) {
  const auto r = run_cli("plan --model " + hub_config("Llama-3.2-11B-Vision-Instruct") +
                         " --dtype bf16 --master-weights fp32 --gpu-memory 24");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("fits 24 GiB?     no"), std::string::npos) << r.output;
}

TEST(CliPlan, BadInputIsNamed) {
  auto r = run_cli("plan --model /no/such/folder");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("/no/such/folder"), std::string::npos) << r.output;
  r = run_cli("plan --model " + hub_config("llava-1.5-7b-hf") + " --sharding zero3");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("zero3"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace lavender
