#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/run_cli.h"
#include "test_jsonl.h"
#include "train/tiny_training_run.h"

namespace lavender::test {
namespace {

TEST(CliTrain, HelpListsEveryOptionWithItsDefault) {
  auto r = run_cli("train --help");
  EXPECT_EQ(r.code, 0) << r.output;
  for (const char* text : {"--lambda", "10", "--lambda-schedule", "--aggregation", "heads-mean",
                           "--aligner", "sim", "--freeze", "vision_tower", "--resume", "--config",
                           "--word-filter", "--max-grad-norm"})
    EXPECT_NE(r.output.find(text), std::string::npos) << text;
}

TEST(CliTrain, ConfigFileAndCommandLineTrainTogether) {
  TempDir dir;
  auto run = write_tiny_training_run(dir.path(), 4);
  std::ofstream(dir.file("run.json")) << nlohmann::json{{"model", run.model},
                                                         {"data", run.data},
                                                         {"images", run.images},
                                                         {"maps", run.maps},
                                                         {"map-size", 16},
                                                         {"max-steps", 5},
                                                         {"batch-size", 2},
                                                         {"threads", 1}}
                                             .dump();
  auto r = run_cli("train --config " + dir.file("run.json") + " --out " + dir.file("out") +
                   " --max-steps 2 --lr 1e-3");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("finished at step 2"), std::string::npos) << r.output;
  EXPECT_EQ(read_jsonl(dir.file("out/metrics.jsonl")).size(), 2u);  // --max-steps 2 won
  EXPECT_TRUE(std::filesystem::exists(dir.file("out/model/config.json")));
  auto options = nlohmann::json::parse(std::ifstream(dir.file("out/train_options.json")));
  EXPECT_EQ(options["lr"], "0.001");
}

TEST(CliTrain, MistakesAreClearErrors) {
  TempDir dir;
  auto r = run_cli("train --model " + dir.path() + " --data x.jsonl --out " + dir.file("o"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("--maps"), std::string::npos) << r.output;  // lambda 10 needs maps
  r = run_cli("train --lamda 3");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("lamda"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace lavender::test
