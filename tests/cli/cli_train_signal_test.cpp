// Ctrl-C (SIGINT) or a scheduler's SIGTERM: `lavender train` checkpoints the step it finished,
// exits with 130, and --resume continues from there.
#include <gtest/gtest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "cli/run_cli.h"
#include "test_jsonl.h"
#include "train/tiny_training_run.h"

extern char** environ;

namespace lavender::test {
namespace {

TEST(CliTrain, SigintCheckpointsAndResumeContinues) {
  TempDir dir;
  auto run = write_tiny_training_run(dir.path(), 4, "llava", /*extras=*/false);
  const std::string out = dir.file("out");
  std::vector<std::string> args = {LAVENDER_CLI_PATH, "train", "--model", run.model, "--data",
                                   run.data, "--images", run.images, "--maps", run.maps, "--out",
                                   out, "--map-size", "16", "--max-steps", "100000", "--threads",
                                   "1", "--figure-every", "0", "--save-every", "100000"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  ASSERT_EQ(::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0);
  // Wait until a few steps are logged, then interrupt.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::filesystem::exists(out + "/metrics.jsonl") &&
        read_jsonl(out + "/metrics.jsonl").size() >= 2)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  const int64_t reached = read_jsonl(out + "/metrics.jsonl").back()["step"].get<int64_t>();
  EXPECT_TRUE(std::filesystem::exists(out + "/checkpoints/latest"));

  auto r = run_cli("train --model " + run.model + " --data " + run.data + " --images " +
                   run.images + " --maps " + run.maps + " --out " + out +
                   " --map-size 16 --threads 1 --figure-every 0 --resume --max-steps " +
                   std::to_string(reached + 2));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("at step " + std::to_string(reached)), std::string::npos) << r.output;
  auto rows = read_jsonl(out + "/metrics.jsonl");
  ASSERT_EQ(static_cast<int64_t>(rows.size()), reached + 2);
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i]["step"], static_cast<int>(i) + 1);
}

}  // namespace
}  // namespace lavender::test
