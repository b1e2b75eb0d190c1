// `lavender train` as two processes on loopback (what torchrun launches) against one process with
// the same global batch: the logged losses must agree.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <string>

#include "test_jsonl.h"
#include "test_paths.h"
#include "train/free_port.h"
#include "train/tiny_training_run.h"

namespace lavender::test {
namespace {

std::string train_command(const TinyTrainingRun& run, const std::string& out, int batch) {
  return std::string(LAVENDER_CLI_PATH) + " train --model " + run.model + " --data " + run.data +
         " --images " + run.images + " --maps " + run.maps + " --out " + out +
         " --map-size 16 --max-steps 3 --lr 1e-3 --threads 1 --freeze '' --figure-every 0" +
         " --batch-size " + std::to_string(batch);
}

int shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(TrainerDistributed, TwoRanksLogTheLossesOfOneProcessWithTheSameGlobalBatch) {
  TempDir dir;
  auto run = write_tiny_training_run(dir.path(), 4, "llava", /*extras=*/false);
  ASSERT_EQ(shell(train_command(run, dir.file("one"), 2) + " > " + dir.file("one.log") + " 2>&1"), 0);
  const std::string env = "WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" +
                          std::to_string(free_port());
  const std::string two = train_command(run, dir.file("two"), 1);
  ASSERT_EQ(shell("(" + env + " RANK=0 " + two + " > " + dir.file("rank0.log") + " 2>&1 & " + env +
                  " RANK=1 " + two + " > " + dir.file("rank1.log") + " 2>&1; r1=$?; wait $!; " +
                  "r0=$?; exit $((r0 + r1)))"),
            0);
  auto one = read_jsonl(dir.file("one/metrics.jsonl"));
  auto ranks = read_jsonl(dir.file("two/metrics.jsonl"));
  ASSERT_EQ(one.size(), 3u);
  ASSERT_EQ(ranks.size(), 3u);
  for (size_t i = 0; i < one.size(); ++i) {
    for (const char* key : {"total", "text", "attention", "grad_norm"}) {
      const double a = one[i][key].get<double>(), b = ranks[i][key].get<double>();
      EXPECT_NEAR(a, b, 1e-5 * std::max(1.0, std::abs(a))) << key << " at step " << i + 1;
    }
    EXPECT_EQ(one[i]["words"], ranks[i]["words"]);
    EXPECT_EQ(one[i]["samples"], ranks[i]["samples"]);
  }
  EXPECT_TRUE(std::filesystem::exists(dir.file("two/model/config.json")));
}

TEST(TrainerDistributed, ARankThatFailsStopsTheOtherWithItsMessage) {
  TempDir dir;
  auto run = write_tiny_training_run(dir.path(), 4, "llava", /*extras=*/false);
  const std::string env = "WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" +
                          std::to_string(free_port());
  const std::string good = train_command(run, dir.file("out"), 1);
  // Rank 1 is given a model folder that does not exist.
  std::string bad = good;
  bad.replace(bad.find(run.model), run.model.size(), dir.file("no-such-model"));
  shell("(" + env + " RANK=0 " + good + " > " + dir.file("rank0.log") + " 2>&1 & " + env +
        " RANK=1 " + bad + " > " + dir.file("rank1.log") + " 2>&1; wait)");
  std::ifstream in(dir.file("rank0.log"));
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("rank 1 failed"), std::string::npos) << log;
  EXPECT_NE(log.find("no-such-model"), std::string::npos) << log;  // with rank 1's reason
}

}  // namespace
}  // namespace lavender::test
