// The CLI as a user meets it: exit codes and messages of the real binary.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "cli/run_cli.h"
#include "lavender/io/safetensors.h"
#include "test_paths.h"

namespace lavender {
namespace {

using test::CliRun;
using test::run_cli;

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
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("PASS logits"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" 0 failed"), std::string::npos) << r.output;
  r = run_cli("parity " + test::shared_dir());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("not a fixture"), std::string::npos) << r.output;
}

TEST(Cli, TokenizeLlama3AndClipAndDecode) {
  test::TempDir dir;
  {
    std::ofstream(dir.file("in.jsonl")) << "\"Hello world\"\n\n[1, 2]\n\"<|image|>hi\"\n";
    std::ofstream(dir.file("ids.jsonl")) << "[128000, 9906, 1917]\n[999999]\n";
    std::ofstream(dir.file("clip.jsonl")) << "\"a photo\"\n";
  }
  const std::string llama = test::shared_dir() + "/data/llama3/tokenizer.json";
  CliRun r =
      run_cli("tokenize --tokenizer " + llama + " --jsonl " + dir.file("in.jsonl") + " --special");
  EXPECT_EQ(r.code, 2) << r.output;  // the [1, 2] line is not a string
  EXPECT_NE(r.output.find("[128000, 9906, 1917]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[128000, 128256, 6151]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("in.jsonl:3: expected a JSON string"), std::string::npos) << r.output;
  r = run_cli("tokenize --decode --tokenizer " + llama + " --jsonl " + dir.file("ids.jsonl"));
  EXPECT_EQ(r.code, 2) << r.output;  // 999999 is no id
  EXPECT_NE(r.output.find("\"<|begin_of_text|>Hello world\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("999999"), std::string::npos) << r.output;
  // CLIP keeps its behaviour: start and end tokens with --special.
  r = run_cli("tokenize --tokenizer " + test::shared_dir() +
              "/data/clip/bpe_simple_vocab_16e6.txt.gz --jsonl " + dir.file("clip.jsonl") +
              " --special");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("[49406, 320, 1125, 49407]"), std::string::npos) << r.output;
}

TEST(Cli, EvalNamesTheLatentReadings) {
  test::TempDir dir;
  auto r = run_cli("eval --out " + dir.file("out") + " --maps " + dir.file("a") + " --truth " +
                   dir.file("b") + " --latent-maps diagonal");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("composed"), std::string::npos) << r.output;
  r = run_cli("eval --out " + dir.file("out") + " --maps " + dir.file("a") + " --truth " +
              dir.file("b") + " --sliced-views tiles");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("both, source, slices"), std::string::npos) << r.output;
  r = run_cli("eval --help");
  EXPECT_NE(r.output.find("--latent-maps"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--sliced-views"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace lavender
