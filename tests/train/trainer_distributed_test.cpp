// `lavender train` as two processes on loopback (what torchrun launches) against one process with
// the same global batch: the logged losses must agree.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <torch/torch.h>

#include "lavender/io/checkpoint.h"
#include "test_jsonl.h"
#include "test_paths.h"
#include "train/free_port.h"
#include "train/tiny_training_run.h"

namespace lavender::test {
namespace {

std::string train_command(const TinyTrainingRun& run, const std::string& out, int batch,
                          int steps = 10) {
  return std::string(LAVENDER_CLI_PATH) + " train --model " + run.model + " --data " + run.data +
         " --images " + run.images + " --maps " + run.maps + " --out " + out +
         " --map-size 16 --max-steps " + std::to_string(steps) +
         " --lr 1e-4 --warmup-steps 2 --adam-eps 1e-6 --threads 1" +
         " --freeze '' --figure-every 0" + " --batch-size " + std::to_string(batch);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Every rank's log, for a failure message.
std::string rank_logs(const std::string& prefix, int world) {
  std::string out;
  for (int r = 0; r < world; ++r)
    out += "--- rank " + std::to_string(r) + "\n" + read_text(prefix + std::to_string(r) + ".log");
  return out;
}

int shell(const std::string& command) {
  const int status = std::system(command.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Launches `world` ranks of `command` on loopback; true when every rank exits 0.
bool run_ranks(const std::string& command, int world, const std::string& logs) {
  const std::string env = "WORLD_SIZE=" + std::to_string(world) +
                          " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(free_port());
  std::string script = "(fail=0; ";
  for (int r = 1; r < world; ++r)
    script += env + " RANK=" + std::to_string(r) + " " + command + " > " + logs +
              std::to_string(r) + ".log 2>&1 & ";
  script += env + " RANK=0 " + command + " > " + logs + "0.log 2>&1 || fail=1; ";
  script += "for p in $(jobs -p); do wait $p || fail=1; done; exit $fail)";
  return shell(script) == 0;
}

// Samples differ in reply tokens and matched words: each rank's losses are its share of the
// global means, so 2 and 4 processes log (and step) exactly as one process with the whole batch.
TEST(TrainerDistributed, RanksLogTheStepsOfOneProcessWithTheSameGlobalBatch) {
  TempDir dir;
  auto run = write_tiny_training_run(dir.path(), 8, "llava", /*extras=*/true, /*varied=*/true);
  ASSERT_EQ(shell(train_command(run, dir.file("one"), 4) + " > " + dir.file("one.log") + " 2>&1"),
            0);
  auto one = read_jsonl(dir.file("one/metrics.jsonl"));
  ASSERT_EQ(one.size(), 10u);
  for (int world : {2, 4}) {
    const std::string out = dir.file("world" + std::to_string(world));
    ASSERT_TRUE(run_ranks(train_command(run, out, 4 / world), world, out + "-rank"));
    auto ranks = read_jsonl(out + "/metrics.jsonl");
    ASSERT_EQ(ranks.size(), 10u);
    for (size_t i = 0; i < one.size(); ++i) {
      for (const char* key : {"total", "text", "attention", "grad_norm"}) {
        // After step 1 the weights differ by fp32 rounding, which the gradient norm amplifies
        // (global_batch_test.cpp says why); the losses stay within 1e-5.
        const double tol = i > 0 && std::string(key) == "grad_norm" ? 2e-2 : 1e-5;
        const double a = one[i][key].get<double>(), b = ranks[i][key].get<double>();
        EXPECT_NEAR(a, b, tol * std::max(1.0, std::abs(a)))
            << key << " at step " << i + 1 << ", " << world << " ranks";
      }
      EXPECT_EQ(one[i]["words"], ranks[i]["words"]);
      EXPECT_EQ(one[i]["samples"], ranks[i]["samples"]);
    }
    EXPECT_TRUE(std::filesystem::exists(out + "/model/config.json"));
  }
}

// Compares two metrics logs step by step (losses to 1e-5; the gradient norm to 1e-5 at step 1,
// where both start from the same weights, and within fp32 drift after: global_batch_test.cpp).
void expect_same_log(const std::vector<nlohmann::json>& one,
                     const std::vector<nlohmann::json>& other, const std::string& what) {
  ASSERT_EQ(one.size(), other.size()) << what;
  for (size_t i = 0; i < one.size(); ++i) {
    for (const char* key : {"total", "text", "attention", "grad_norm"}) {
      const double tol = i > 0 && std::string(key) == "grad_norm" ? 2e-2 : 1e-5;
      const double a = one[i][key].get<double>(), b = other[i][key].get<double>();
      EXPECT_NEAR(a, b, tol * std::max(1.0, std::abs(a)))
          << key << " at step " << i + 1 << ", " << what;
    }
    EXPECT_EQ(one[i]["words"], other[i]["words"]) << what;
  }
}

// Two saved model folders hold the same tensors (up to the fp32 rounding in which two runs'
// weights drift apart).
void expect_same_model(const std::string& a, const std::string& b) {
  auto x = io::Checkpoint::open(io::find_checkpoint_in_folder(a));
  auto y = io::Checkpoint::open(io::find_checkpoint_in_folder(b));
  ASSERT_EQ(x.names(), y.names()) << a << " vs " << b;
  for (const auto& name : x.names()) {
    at::Tensor u = x.tensor(name).to(at::kFloat), v = y.tensor(name).to(at::kFloat);
    ASSERT_EQ(u.sizes(), v.sizes()) << name;
    EXPECT_TRUE(torch::allclose(u, v, 1e-4, 1e-5)) << name << " differs in " << b;
  }
}

// grad-op and full sharding over 1 (full), 2 and 4 processes step as one replicated process, for
// LLaVA with and without LoRA (a sharded frozen base) and for mllama.
TEST(TrainerDistributed, ShardedRunsStepAsOneProcess) {
  TempDir dir;
  for (const char* fixture : {"llava", "mllama"}) {
    auto run = write_tiny_training_run(dir.file(fixture), 8, fixture, true, true);
    for (bool lora : {false, true}) {
      if (lora && std::string(fixture) == "mllama") continue;
      const std::string name = std::string(fixture) + (lora ? "-lora" : "");
      const std::string extra = lora ? " --lora --lora-dropout 0" : "";
      ASSERT_EQ(shell(train_command(run, dir.file(name + "-one"), 4, 5) + extra + " > " +
                      dir.file(name + "-one.log") + " 2>&1"),
                0);
      auto one = read_jsonl(dir.file(name + "-one/metrics.jsonl"));
      for (const std::string sharding : {"grad-op", "full"}) {
        for (int world : {1, 2, 4}) {
          if (world == 1 && sharding == "grad-op") continue;
          const std::string what = name + " " + sharding + " " + std::to_string(world);
          const std::string out = dir.file(name + "-" + sharding + "-" + std::to_string(world));
          ASSERT_TRUE(
              run_ranks(train_command(run, out, 4 / world, 5) + extra + " --sharding " + sharding,
                        world, out + "-rank"))
              << what << "\n"
              << rank_logs(out + "-rank", world);
          expect_same_log(one, read_jsonl(out + "/metrics.jsonl"), what);
          if (world > 1) {
            EXPECT_TRUE(std::filesystem::exists(
                out + "/checkpoints/step-000005/trainable-rank-00001-of-" +
                std::string(world == 2 ? "00002" : "00004") + ".safetensors"));
          }
          // The final model (LoRA: the adapter), gathered into one folder by rank 0.
          EXPECT_TRUE(std::filesystem::exists(out + (lora ? "/adapter" : "/model/config.json")));
        }
      }
      // Full sharding saves the same model as the unsharded run.
      if (!lora) expect_same_model(dir.file(name + "-one/model"), dir.file(name + "-full-2/model"));
      if (lora || std::string(fixture) != "llava") continue;
      // In bf16 (with fp32 master weights) the shards travel as bf16: two processes step as one
      // up to bf16 rounding, which differs with the batch's split.
      const std::string bf16 = " --dtype bf16";
      ASSERT_EQ(shell(train_command(run, dir.file("bf16-one"), 4, 5) + bf16 + " > " +
                      dir.file("bf16-one.log") + " 2>&1"),
                0);
      ASSERT_TRUE(
          run_ranks(train_command(run, dir.file("bf16-full"), 2, 5) + bf16 + " --sharding full", 2,
                    dir.file("bf16-full-rank")))
          << rank_logs(dir.file("bf16-full-rank"), 2);
      auto a = read_jsonl(dir.file("bf16-one/metrics.jsonl"));
      auto b = read_jsonl(dir.file("bf16-full/metrics.jsonl"));
      ASSERT_EQ(a.size(), b.size());
      for (size_t i = 0; i < a.size(); ++i)
        EXPECT_NEAR(a[i]["total"].get<double>(), b[i]["total"].get<double>(),
                    2e-2 * a[i]["total"].get<double>())
            << "bf16 step " << i + 1;
    }
  }
}

// OpenFlamingo's gated cross-attention maps (both readings of its latents) step alike over one
// and two processes, unsharded and with grad-op and full sharding (the gated layers and the MPT
// blocks sharded one by one, recomputed in backward).
TEST(TrainerDistributed, OpenFlamingoRanksStepAsOneProcess) {
  TempDir dir;
  auto run = write_tiny_training_run(dir.path(), 8, "openflamingo", true, true);
  for (const std::string maps : {"composed", "square"}) {
    const std::string extra = " --latent-maps " + maps;
    ASSERT_EQ(shell(train_command(run, dir.file(maps + "-one"), 4, 5) + extra + " > " +
                    dir.file(maps + "-one.log") + " 2>&1"),
              0)
        << read_text(dir.file(maps + "-one.log"));
    auto one = read_jsonl(dir.file(maps + "-one/metrics.jsonl"));
    for (const std::string sharding : {"none", "grad-op", "full"}) {
      const std::string what = "openflamingo " + maps + " " + sharding;
      const std::string out = dir.file(maps + "-" + sharding);
      ASSERT_TRUE(run_ranks(train_command(run, out, 2, 5) + extra + " --sharding " + sharding, 2,
                            out + "-rank"))
          << what << "\n"
          << rank_logs(out + "-rank", 2);
      const auto ranks = read_jsonl(out + "/metrics.jsonl");
      expect_same_log(one, ranks, what);
      double worst = 0;  // the largest loss difference, for the record
      for (size_t i = 0; i < std::min(one.size(), ranks.size()); ++i)
        for (const char* key : {"total", "text", "attention"})
          worst =
              std::max(worst, std::abs(one[i][key].get<double>() - ranks[i][key].get<double>()));
      std::cout << what << ": largest loss difference over 5 steps " << worst << "\n";
      if (sharding != "grad-op") expect_same_model(dir.file(maps + "-one/model"), out + "/model");
      // Full sharding ran its units: vision layers, then gated layer and block by turns.
      if (sharding == "full") {
        const std::string log = read_text(out + "-rank0.log");
        const size_t end = log.find(" layer starts found their parameters prefetched");
        ASSERT_NE(end, std::string::npos) << log;
        const size_t at = log.rfind(" full sharding: ", end);
        std::cout << what << ":" << log.substr(at + 15, end - at - 15)
                  << " layer starts prefetched\n";
      }
    }
  }
  // The default freezing (the vision tower): its frozen layers are sharded units too, gathered
  // for their forward only.
  const std::string frozen = " --freeze @vision";
  ASSERT_EQ(shell(train_command(run, dir.file("frozen-one"), 4, 5) + frozen + " > " +
                  dir.file("frozen-one.log") + " 2>&1"),
            0);
  const std::string out = dir.file("frozen-full");
  ASSERT_TRUE(
      run_ranks(train_command(run, out, 2, 5) + frozen + " --sharding full", 2, out + "-rank"))
      << rank_logs(out + "-rank", 2);
  expect_same_log(read_jsonl(dir.file("frozen-one/metrics.jsonl")),
                  read_jsonl(out + "/metrics.jsonl"), "openflamingo frozen vision full");
  expect_same_model(dir.file("frozen-one/model"), out + "/model");
}

// MiniCPM-V's maps (the decoder's attention to the source picture's and the slices' tokens,
// composed through the resampler) step alike over one and two processes, unsharded and with
// full sharding (the decoder's and the frozen SigLIP tower's layers sharded through the
// student's layer hooks; grad-op touches no student code and ShardedRunsStepAsOneProcess
// covers it).
// Every sample has the same image, so the release's batched tower (features depend on the
// batch's longest picture) sees the same pictures on every rank.
TEST(TrainerDistributed, MiniCpmVRanksStepAsOneProcess) {
  TempDir dir;
  auto run = write_tiny_training_run(dir.path(), 8, "minicpmv", true, true);
  const std::string frozen = " --freeze @vision";
  ASSERT_EQ(shell(train_command(run, dir.file("one"), 4, 3) + frozen + " > " + dir.file("one.log") +
                  " 2>&1"),
            0)
      << read_text(dir.file("one.log"));
  auto one = read_jsonl(dir.file("one/metrics.jsonl"));
  for (const std::string sharding : {"none", "full"}) {
    const std::string what = "minicpmv " + sharding;
    const std::string out = dir.file(sharding);
    ASSERT_TRUE(run_ranks(train_command(run, out, 2, 3) + frozen + " --sharding " + sharding, 2,
                          out + "-rank"))
        << what << "\n"
        << rank_logs(out + "-rank", 2);
    const auto ranks = read_jsonl(out + "/metrics.jsonl");
    expect_same_log(one, ranks, what);
    double worst = 0;  // the largest loss difference, for the record
    for (size_t i = 0; i < std::min(one.size(), ranks.size()); ++i)
      for (const char* key : {"total", "text", "attention"})
        worst = std::max(worst, std::abs(one[i][key].get<double>() - ranks[i][key].get<double>()));
    std::cout << what << ": largest loss difference over 3 steps " << worst << "\n";
    expect_same_model(dir.file("one/model"), out + "/model");
  }
}

// Each rank writes and reads back its own share: a sharded run resumed with its world size
// continues exactly; another world size is refused, naming why.
TEST(TrainerDistributed, AShardedRunResumesExactly) {
  TempDir dir;
  auto run = write_tiny_training_run(dir.path(), 8, "llava", true, true);
  const std::string options = " --sharding grad-op --lr-schedule constant --save-every 3";
  ASSERT_TRUE(
      run_ranks(train_command(run, dir.file("whole"), 2, 6) + options, 2, dir.file("whole-rank")));
  ASSERT_TRUE(
      run_ranks(train_command(run, dir.file("split"), 2, 3) + options, 2, dir.file("first-rank")));
  const std::string resume = train_command(run, dir.file("split"), 2, 6) + options + " --resume";
  EXPECT_FALSE(run_ranks(resume, 4, dir.file("wrong-rank")));
  std::ifstream in(dir.file("wrong-rank0.log"));
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("written in 2 shards"), std::string::npos) << log;
  ASSERT_TRUE(run_ranks(resume, 2, dir.file("second-rank")));
  auto whole = read_jsonl(dir.file("whole/metrics.jsonl"));
  auto resumed = read_jsonl(dir.file("split/metrics.jsonl"));
  ASSERT_EQ(whole.size(), 6u);
  ASSERT_EQ(resumed.size(), 6u);
  for (size_t i = 0; i < whole.size(); ++i)
    for (const char* key : {"total", "grad_norm"})
      EXPECT_DOUBLE_EQ(whole[i][key].get<double>(), resumed[i][key].get<double>())
          << key << " at step " << i + 1;
}

// kill -9 of one rank of a fully sharded run (killed anywhere, a gather or reduce-scatter inside
// a backward included): the other stops with an account of it instead of hanging, and a resume
// from the last complete checkpoint continues as if nothing happened.
TEST(TrainerDistributed, AKilledRankStopsTheOtherAndTheRunResumesExactly) {
  TempDir dir;
  auto run = write_tiny_training_run(dir.path(), 8, "llava", true, true);
  const std::string options = " --sharding full --lr-schedule constant --save-every 2";
  ASSERT_TRUE(
      run_ranks(train_command(run, dir.file("whole"), 2, 20) + options, 2, dir.file("whole-rank")));
  const std::string out = dir.file("killed");
  const std::string env =
      "WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(free_port());
  const std::string command = train_command(run, out, 2, 100000) + options;
  // Rank 1 dies by SIGKILL once the run has a checkpoint; rank 0's exit status is kept.
  const int rc = shell("(" + env + " RANK=1 " + command + " > " + dir.file("k1.log") +
                       " 2>&1 & p1=$!; " + env + " RANK=0 " + command + " > " + dir.file("k0.log") +
                       " 2>&1 & p0=$!; for i in $(seq 600); do [ -f " + out +
                       "/checkpoints/latest ] && break; sleep 0.1; done; kill -9 $p1; wait $p0)");
  std::ifstream in(dir.file("k0.log"));
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Rank 0 exits with lavender's error status (2), not by a signal (a SIGPIPE from writing to the
  // dead peer's socket would end it silently with 141).
  EXPECT_EQ(rc, 2) << log;
  EXPECT_NE(log.find("failed on rank 0"), std::string::npos) << log;
  EXPECT_NE(log.find("a peer crashed, was killed, or hung"), std::string::npos) << log;
  std::ifstream latest(out + "/checkpoints/latest");
  std::string name;
  ASSERT_TRUE(latest >> name);
  ASSERT_LT(std::stoi(name.substr(5)), 20) << name;
  ASSERT_TRUE(run_ranks(train_command(run, out, 2, 20) + options + " --resume", 2,
                        dir.file("resumed-rank")));
  auto whole = read_jsonl(dir.file("whole/metrics.jsonl"));
  auto resumed = read_jsonl(out + "/metrics.jsonl");
  ASSERT_EQ(whole.size(), 20u);
  ASSERT_EQ(resumed.size(), 20u);
  for (size_t i = 0; i < whole.size(); ++i)
    for (const char* key : {"total", "grad_norm"})
      EXPECT_DOUBLE_EQ(whole[i][key].get<double>(), resumed[i][key].get<double>())
          << key << " at step " << i + 1;
}

TEST(TrainerDistributed, ARankThatFailsStopsTheOtherWithItsMessage) {
  TempDir dir;
  auto run = write_tiny_training_run(dir.path(), 4, "llava", /*extras=*/false);
  const std::string env =
      "WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=" + std::to_string(free_port());
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
