// The CLI as a user meets it: exit codes and messages of the real binary.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "lavender/io/safetensors.h"
#include "test_paths.h"

namespace lavender {
namespace {

struct CliRun {
  int code;
  std::string output;  // stdout and stderr together
};

CliRun run_cli(const std::string& args) {
  std::string cmd = std::string(LAVENDER_CLI_PATH) + " " + args + " 2>&1";
  CliRun r{-1, ""};
  std::FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  int status = ::pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(Cli, InfoReportsTorchThreadsAndBlas) {
  CliRun r = run_cli("--threads 1 info --no-bench");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("LibTorch"), std::string::npos);
  EXPECT_NE(r.output.find("threads       1"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("BLAS"), std::string::npos);
}

TEST(Cli, UsageErrorsExitTwo) {
  EXPECT_EQ(run_cli("").code, 2);
  CliRun r = run_cli("frobnicate");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("unknown command"), std::string::npos);
  r = run_cli("inspect --no-such-flag x");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("unknown option --no-such-flag"), std::string::npos) << r.output;
  EXPECT_EQ(run_cli("--threads zero info").code, 2);
  EXPECT_EQ(run_cli("inspect --help").code, 0);
}

TEST(Cli, InspectListsTensorsAndNamesBadFiles) {
  CliRun r = run_cli("inspect " + test::fixture_dir("sd_tiny") + "/unet --filter conv_in");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("conv_in.weight"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("2 tensors (of 304)"), std::string::npos) << r.output;

  test::TempDir dir;
  std::string bad = dir.file("broken.safetensors");
  std::ofstream(bad, std::ios::binary) << std::string("\x10\0\0\0\0\0\0\0{\"a\":", 13);
  r = run_cli("inspect " + bad);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("broken.safetensors"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
}

TEST(Cli, InspectPipelineFolderListsEachComponent) {
  CliRun r = run_cli("inspect " + test::fixture_dir("sd_tiny") + " --filter conv_out");
  EXPECT_EQ(r.code, 0) << r.output;
  for (const char* part : {"== text_encoder", "== unet", "== vae", "model: UNet2DConditionModel",
                           "model: CLIPTextModel (clip_text_model)"})
    EXPECT_NE(r.output.find(part), std::string::npos) << part << "\n" << r.output;
}

TEST(Cli, InspectJsonIsMachineReadable) {
  CliRun r = run_cli("inspect --json " + test::fixture_dir("clip_text"));
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("\"total_tensors\""), std::string::npos);
}

TEST(Cli, ParityExitCodes) {
  CliRun r = run_cli("parity " + test::fixture_dir("llava"));
  EXPECT_TRUE(r.code == 0 || r.code == 3) << r.output;
  EXPECT_NE(r.output.find("logits"), std::string::npos) << r.output;
  r = run_cli("parity " + test::shared_dir());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("not a fixture"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace lavender
