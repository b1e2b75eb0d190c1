#include <gtest/gtest.h>
#include <torch/torch.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "lavender/train/distributed.h"
#include "lavender/util/error.h"
#include "test_paths.h"
#include "train/free_port.h"

extern char** environ;

namespace lavender::train {
namespace {

// ---- environment parsing ------------------------------------------------------------------------

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::string parse_error(std::map<std::string, std::string> vars) {
  try {
    dist_env_from(fake_env(std::move(vars)));
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(DistEnv, NothingSetIsOneProcess) {
  DistEnv env = dist_env_from(fake_env({}));
  EXPECT_EQ(env.rank, 0);
  EXPECT_EQ(env.world_size, 1);
  EXPECT_EQ(env.local_rank, 0);
  EXPECT_TRUE(env.master_addr.empty());
}

TEST(DistEnv, ReadsTorchrunVariables) {
  DistEnv env = dist_env_from(fake_env({{"RANK", "3"},
                                        {"WORLD_SIZE", "8"},
                                        {"LOCAL_RANK", "1"},
                                        {"MASTER_ADDR", "node7"},
                                        {"MASTER_PORT", "29500"}}));
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.world_size, 8);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.master_addr, "node7");
  EXPECT_EQ(env.master_port, 29500);
  // LOCAL_RANK defaults to RANK; a world of one needs no master.
  EXPECT_EQ(
      dist_env_from(
          fake_env(
              {{"RANK", "1"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "a"}, {"MASTER_PORT", "1"}}))
          .local_rank,
      1);
  EXPECT_EQ(dist_env_from(fake_env({{"RANK", "0"}, {"WORLD_SIZE", "1"}})).world_size, 1);
}

TEST(DistEnv, FallsBackToSlurmAndTorchrunWins) {
  std::map<std::string, std::string> slurm{{"SLURM_PROCID", "5"},
                                           {"SLURM_NTASKS", "6"},
                                           {"SLURM_LOCALID", "2"},
                                           {"MASTER_ADDR", "head"},
                                           {"MASTER_PORT", "1234"}};
  DistEnv env = dist_env_from(fake_env(slurm));
  EXPECT_EQ(env.rank, 5);
  EXPECT_EQ(env.world_size, 6);
  EXPECT_EQ(env.local_rank, 2);
  EXPECT_EQ(env.master_addr, "head");
  slurm["RANK"] = "0";
  slurm["WORLD_SIZE"] = "2";
  slurm["LOCAL_RANK"] = "0";
  env = dist_env_from(fake_env(slurm));
  EXPECT_EQ(env.rank, 0);
  EXPECT_EQ(env.world_size, 2);
  EXPECT_EQ(env.local_rank, 0);
}

TEST(DistEnv, ErrorsNameTheVariable) {
  EXPECT_NE(parse_error({{"RANK", "x"}, {"WORLD_SIZE", "2"}}).find("RANK='x'"), std::string::npos);
  EXPECT_NE(parse_error({{"RANK", "2"}, {"WORLD_SIZE", "2"}}).find("RANK='2'"), std::string::npos);
  EXPECT_NE(parse_error({{"RANK", "0"}, {"WORLD_SIZE", "0"}}).find("WORLD_SIZE='0'"),
            std::string::npos);
  EXPECT_NE(parse_error({{"RANK", "0"}, {"WORLD_SIZE", "2x"}}).find("WORLD_SIZE='2x'"),
            std::string::npos);
  EXPECT_NE(parse_error({{"RANK", "0"}}).find("RANK is set but WORLD_SIZE is not"),
            std::string::npos);
  EXPECT_NE(parse_error({{"RANK", "0"}, {"WORLD_SIZE", "2"}}).find("MASTER_ADDR is not set"),
            std::string::npos);
  EXPECT_NE(parse_error({{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}}).find("MASTER_ADDR"),
            std::string::npos);
  EXPECT_NE(parse_error({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}})
                .find("MASTER_PORT is not set"),
            std::string::npos);
  EXPECT_NE(
      parse_error(
          {{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}})
          .find("MASTER_PORT='70000'"),
      std::string::npos);
  EXPECT_NE(parse_error({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"LOCAL_RANK", "-1"}})
                .find("LOCAL_RANK='-1'"),
            std::string::npos);
  EXPECT_NE(parse_error({{"SLURM_PROCID", "a"}, {"SLURM_NTASKS", "2"}}).find("SLURM_PROCID='a'"),
            std::string::npos);
}

// ---- sharding
// -------------------------------------------------------------------------------------

TEST(ShardForRank, StridedAndEverySampleOnce) {
  EXPECT_EQ(shard_for_rank(7, 0, 3), (std::vector<size_t>{0, 3, 6}));
  EXPECT_EQ(shard_for_rank(7, 1, 3), (std::vector<size_t>{1, 4}));
  EXPECT_EQ(shard_for_rank(7, 2, 3), (std::vector<size_t>{2, 5}));
  for (size_t n : {0u, 1u, 5u, 12u, 13u})
    for (int world : {1, 2, 3, 5}) {
      std::vector<int> seen(n, 0);
      for (int r = 0; r < world; ++r)
        for (size_t i : shard_for_rank(n, r, world)) ++seen[i];
      for (size_t i = 0; i < n; ++i) EXPECT_EQ(seen[i], 1) << "n " << n << " world " << world;
    }
}

TEST(ShardForRank, DropLastGivesEqualCounts) {
  for (int r = 0; r < 3; ++r) EXPECT_EQ(shard_for_rank(8, r, 3, true).size(), 2u);
  EXPECT_EQ(shard_for_rank(8, 1, 3, true), (std::vector<size_t>{1, 4}));
  EXPECT_EQ(shard_for_rank(2, 2, 3, true).size(), 0u);
  EXPECT_THROW(shard_for_rank(8, 3, 3), Error);
  EXPECT_THROW(shard_for_rank(8, 0, 0), Error);
}

TEST(ShardForRank, LocalBatchDividesTheGlobalOne) {
  EXPECT_EQ(local_batch_size(8, 2), 4);
  EXPECT_EQ(local_batch_size(8, 1), 8);
  EXPECT_THROW(local_batch_size(9, 2), Error);
}

TEST(Distributed, OneProcessIsANoOp) {
  Distributed dist(DistEnv{});
  EXPECT_TRUE(dist.is_main());
  EXPECT_FALSE(dist.active());
  EXPECT_EQ(dist.backend_name(), "none");
  std::vector<at::Tensor> ts{torch::full({3}, 2.5)};
  dist.all_reduce_mean(ts);
  EXPECT_TRUE(torch::equal(ts[0], torch::full({3}, 2.5)));
  EXPECT_EQ(dist.all_reduce_sum(4.0), 4.0);
  EXPECT_FALSE(dist.all_agree(false));
  dist.barrier();
  dist.report_failure("nothing to tell");
  DistEnv bad;
  bad.rank = 1;
  EXPECT_THROW(Distributed{bad}, Error);
}

// ---- the training run shared by the workers and the one-process reference
// -------------------------

constexpr int64_t kSamples = 24;
constexpr int64_t kGlobalBatch = 8;
constexpr int kEpochs = 2;

struct RunResult {
  std::vector<double> losses;  // global mean loss of every step
  std::vector<double> params;  // the final parameters, flattened in order
};

// y = a fixed function of x, sample i at row i; each epoch visits a different fixed permutation.
// At step fail_at_step this rank throws (how 't'), exits without a word (how 'c', a crash) or
// sleeps 8 s (how 'h', a hang).
RunResult train_linear(Distributed& dist, int fail_at_step = -1, char how = 't') {
  auto opts = torch::TensorOptions().dtype(torch::kDouble);
  auto i = torch::arange(kSamples, opts).unsqueeze(1);
  auto x = torch::sin(0.7 * i + 1.3 * torch::arange(4, opts).unsqueeze(0));
  // Mostly linear in x (so SGD makes progress) plus a part it cannot fit.
  auto y = 2 * x.narrow(1, 0, 3) - x.narrow(1, 1, 3) +
           0.1 * torch::cos(0.5 * i - 0.9 * torch::arange(3, opts).unsqueeze(0));

  // Every rank starts from a different seed: broadcast_parameters must make them equal.
  torch::manual_seed(1234 + static_cast<uint64_t>(dist.rank()));
  torch::nn::Linear model(4, 3);
  torch::nn::Linear unused(2, 2);  // never in the graph: its grads must stay undefined everywhere
  model->to(torch::kDouble);
  unused->to(torch::kDouble);
  std::vector<at::Tensor> params = model->parameters();
  for (auto& p : unused->parameters()) params.push_back(p);
  dist.broadcast_parameters(params);
  torch::optim::SGD sgd(params, torch::optim::SGDOptions(0.1).momentum(0.9));

  const int64_t local = local_batch_size(kGlobalBatch, dist.world_size());
  std::vector<size_t> shard = shard_for_rank(kSamples, dist.rank(), dist.world_size(), true);
  RunResult out;
  int step = 0;
  for (int epoch = 0; epoch < kEpochs; ++epoch) {
    std::vector<int64_t> order(kSamples);
    for (int64_t k = 0; k < kSamples; ++k) order[k] = (k * 7 + epoch * 5) % kSamples;
    for (size_t start = 0; start + local <= shard.size(); start += local, ++step) {
      if (step == fail_at_step && how == 'c') std::_Exit(3);
      if (step == fail_at_step && how == 'h') std::this_thread::sleep_for(std::chrono::seconds(8));
      if (step == fail_at_step && how == 't')
        throw Error("injected failure at step " + std::to_string(step));
      std::vector<int64_t> rows;
      for (int64_t k = 0; k < local; ++k) rows.push_back(order[shard[start + k]]);
      auto idx = torch::tensor(rows, torch::kLong);
      sgd.zero_grad();
      auto loss = torch::mse_loss(model->forward(x.index_select(0, idx)), y.index_select(0, idx));
      loss.backward();
      dist.all_reduce_gradients(params);
      EXPECT_FALSE(unused->weight.grad().defined());
      out.losses.push_back(dist.all_reduce_mean(loss.item<double>()));
      sgd.step();
    }
  }
  for (const auto& p : model->parameters()) {
    auto flat = p.detach().reshape({-1}).contiguous();
    out.params.insert(out.params.end(), flat.data_ptr<double>(),
                      flat.data_ptr<double>() + flat.numel());
  }
  return out;
}

void write_values(const std::string& path, const std::vector<double>& v) {
  std::ofstream out(path);
  out.precision(17);
  for (double d : v) out << d << "\n";
}

std::vector<double> read_values(const std::string& path) {
  std::ifstream in(path);
  std::vector<double> v;
  double d;
  while (in >> d) v.push_back(d);
  return v;
}

// ---- the hidden workers: run only when a parent test launched this binary as a rank
// ----------------

const char* worker_mode() {
  return std::getenv("LAVENDER_DIST_WORKER");
}

std::string worker_out(const std::string& name) {
  return std::string(std::getenv("LAVENDER_DIST_OUT")) + "/rank" +
         std::to_string(dist_env_from_environment().rank) + "_" + name;
}

// The collectives themselves: mixed dtypes over several small buckets, scalars, agreement, a
// gradient that exists on one rank only.
void check_collectives(Distributed& dist) {
  const int rank = dist.rank();
  ASSERT_EQ(dist.backend_name(), "gloo");
  const double r = rank + 1;  // 1 and 2: means 1.5
  std::vector<at::Tensor> ts{torch::full({5}, r, torch::kFloat),
                             torch::full({3}, 10 * r, torch::kDouble),
                             torch::arange(7, torch::kFloat) * r,
                             torch::full({4}, 2 * r, torch::kBFloat16), torch::full({2, 3}, r)};
  dist.all_reduce_mean(ts);
  EXPECT_TRUE(torch::allclose(ts[0], torch::full({5}, 1.5f)));
  EXPECT_TRUE(torch::allclose(ts[1], torch::full({3}, 15.0, torch::kDouble)));
  EXPECT_TRUE(torch::allclose(ts[2], torch::arange(7, torch::kFloat) * 1.5));
  EXPECT_EQ(ts[3].scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::allclose(ts[3].to(torch::kFloat), torch::full({4}, 3.0f)));
  EXPECT_TRUE(torch::allclose(ts[4], torch::full({2, 3}, 1.5f)));
  EXPECT_EQ(dist.all_reduce_sum(r), 3.0);
  EXPECT_TRUE(dist.all_agree(true));
  EXPECT_FALSE(dist.all_agree(rank == 0));

  auto q = torch::zeros({3}, torch::requires_grad());
  if (rank == 1) (q * 4).sum().backward();  // rank 0 never touches q: its grad counts as zero
  dist.all_reduce_gradients({q});
  ASSERT_TRUE(q.grad().defined());
  EXPECT_TRUE(torch::allclose(q.grad(), torch::full({3}, 2.0f)));
  std::vector<at::Tensor> mismatched{rank == 0 ? torch::zeros({2}) : torch::zeros({3})};
  EXPECT_THROW(dist.all_reduce_gradients(mismatched), Error);
  dist.barrier();
}

TEST(DistributedWorker, TrainsItsShard) {
  const char* mode = worker_mode();
  if (!mode || std::string(mode) != "train")
    GTEST_SKIP() << "not a test on its own: one rank of Distributed.TwoProcessesMatchOneProcess, "
                     "which launches it with the rank environment set";
  // Small buckets: the float tensors of check_collectives share some, the Linear's weight (96
  // bytes) is over the size and travels alone.
  DistributedOptions options;
  options.timeout = std::chrono::seconds(60);
  options.bucket_bytes = 64;
  Distributed dist(dist_env_from_environment(), options);
  check_collectives(dist);
  RunResult run = train_linear(dist);
  write_values(worker_out("losses.txt"), run.losses);
  write_values(worker_out("params.txt"), run.params);
  dist.barrier();
}

// LAVENDER_DIST_WORKER=fail<R>: rank R throws at step 2; crash<R>: rank R exits at step 2
// without a word, as a crash would; hang<R>: rank R stalls past the (here 3 s) timeout.
TEST(DistributedWorker, FailsAtStepTwo) {
  const std::string mode = worker_mode() ? worker_mode() : "";
  const char how = mode.empty() ? '-' : mode[0] == 'f' ? 't' : mode[0];
  if (how != 't' && how != 'c' && how != 'h')
    GTEST_SKIP() << "not a test on its own: one rank of Distributed.FailingRankStopsTheOthers, "
                     "which launches it with the rank environment set";
  const int failing = mode.back() - '0';
  DistEnv env = dist_env_from_environment();
  DistributedOptions options;  // the default (10 min) timeout: failures must not need it
  if (how == 'h') options.timeout = std::chrono::seconds(3);
  Distributed dist(env, options);
  auto start = std::chrono::steady_clock::now();
  try {
    dist.run_reporting([&] { train_linear(dist, env.rank == failing ? 2 : -1, how); });
    ADD_FAILURE() << "rank " << env.rank << " finished training";
  } catch (const Error& e) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::ofstream(worker_out("error.txt")) << s << "\n" << e.what() << "\n";
  }
}

// ---- the parents --------------------------------------------------------------------------------

using test::free_port;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Launches this test binary `world` times as ranks running `filter`; waits up to `limit` and
// kills what is still running then. Returns each rank's exit code (-1: killed or crashed).
std::vector<int> run_ranks(const std::string& filter, const std::string& mode, int world,
                           const std::string& dir, std::chrono::seconds limit) {
  const int port = free_port();
  std::vector<pid_t> pids;
  for (int rank = 0; rank < world; ++rank) {
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
      std::string kv = *e;
      std::string key = kv.substr(0, kv.find('='));
      if (key == "RANK" || key == "WORLD_SIZE" || key == "LOCAL_RANK" || key == "MASTER_ADDR" ||
          key == "MASTER_PORT" || key.rfind("SLURM_", 0) == 0 ||
          key.rfind("LAVENDER_DIST_", 0) == 0)
        continue;
      env_strings.push_back(kv);
    }
    env_strings.push_back("RANK=" + std::to_string(rank));
    env_strings.push_back("LOCAL_RANK=" + std::to_string(rank));
    env_strings.push_back("WORLD_SIZE=" + std::to_string(world));
    env_strings.push_back("MASTER_ADDR=127.0.0.1");
    env_strings.push_back("MASTER_PORT=" + std::to_string(port));
    env_strings.push_back("LAVENDER_DIST_WORKER=" + mode);
    env_strings.push_back("LAVENDER_DIST_OUT=" + dir);
    env_strings.push_back("OMP_NUM_THREADS=1");
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string exe = "/proc/self/exe", flag = "--gtest_filter=" + filter;
    std::vector<char*> argv{exe.data(), flag.data(), nullptr};
    std::string log = dir + "/rank" + std::to_string(rank) + ".log";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(rc, 0) << "could not launch rank " << rank;
    pids.push_back(rc == 0 ? pid : -1);
  }
  std::vector<int> codes(world, -1);
  std::vector<bool> done(world, false);
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (int left = world; left > 0;) {
    for (int r = 0; r < world; ++r) {
      if (done[r]) continue;
      int status = 0;
      if (pids[r] < 0 || ::waitpid(pids[r], &status, WNOHANG) == pids[r]) {
        done[r] = true;
        --left;
        if (pids[r] >= 0 && WIFEXITED(status)) codes[r] = WEXITSTATUS(status);
      }
    }
    if (left > 0 && std::chrono::steady_clock::now() > deadline) {
      for (int r = 0; r < world; ++r)
        if (!done[r]) {
          ADD_FAILURE() << "rank " << r << " still running after " << limit.count() << " s";
          ::kill(pids[r], SIGKILL);
          ::waitpid(pids[r], nullptr, 0);
          done[r] = true;
          --left;
        }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return codes;
}

TEST(Distributed, TwoProcessesMatchOneProcess) {
  if (worker_mode()) GTEST_SKIP() << "this process is a launched rank; the parent process runs this test";
  Distributed single(DistEnv{});
  RunResult reference = train_linear(single);
  ASSERT_EQ(reference.losses.size(), static_cast<size_t>(kEpochs * kSamples / kGlobalBatch));

  test::TempDir dir;
  std::vector<int> codes = run_ranks("DistributedWorker.TrainsItsShard", "train", 2, dir.path(),
                                     std::chrono::seconds(180));
  for (int r = 0; r < 2; ++r)
    ASSERT_EQ(codes[r], 0) << "rank " << r << ":\n"
                           << slurp(dir.file("rank" + std::to_string(r) + ".log"));

  double worst = 0;
  for (int r = 0; r < 2; ++r) {
    std::string p = dir.file("rank" + std::to_string(r) + "_");
    std::vector<double> losses = read_values(p + "losses.txt");
    std::vector<double> params = read_values(p + "params.txt");
    ASSERT_EQ(losses.size(), reference.losses.size());
    ASSERT_EQ(params.size(), reference.params.size());
    for (size_t k = 0; k < losses.size(); ++k) {
      EXPECT_NEAR(losses[k], reference.losses[k], 1e-6) << "rank " << r << " step " << k;
      worst = std::max(worst, std::abs(losses[k] - reference.losses[k]));
    }
    for (size_t k = 0; k < params.size(); ++k) {
      EXPECT_NEAR(params[k], reference.params[k], 1e-6) << "rank " << r << " param " << k;
      worst = std::max(worst, std::abs(params[k] - reference.params[k]));
    }
  }
  // The loss must actually move, or equal losses would prove little.
  EXPECT_LT(reference.losses.back(), 0.8 * reference.losses.front());
  std::printf("two ranks vs one process: largest difference %.3g, loss %.4f -> %.4f\n", worst,
              reference.losses.front(), reference.losses.back());
}

struct FailureRun {
  std::vector<int> codes;
  std::string errors[2];  // each rank's "seconds\nmessage", empty when it wrote none
  double seconds = 0;
};

FailureRun run_failure(const std::string& mode) {
  test::TempDir dir;
  FailureRun out;
  auto start = std::chrono::steady_clock::now();
  out.codes =
      run_ranks("DistributedWorker.FailsAtStepTwo", mode, 2, dir.path(), std::chrono::seconds(120));
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (int r = 0; r < 2; ++r) {
    out.errors[r] = slurp(dir.file("rank" + std::to_string(r) + "_error.txt"));
    if (out.codes[r] != 0)
      std::printf("rank %d of %s exited with %d:\n%s\n", r, mode.c_str(), out.codes[r],
                  slurp(dir.file("rank" + std::to_string(r) + ".log")).c_str());
  }
  std::printf("%s: %.1f s in all; rank 0: %srank 1: %s", mode.c_str(), out.seconds,
              out.errors[0].c_str(), out.errors[1].c_str());
  return out;
}

// Seconds the survivor waited, from the first line of its error file.
double waited(const std::string& error) {
  return error.empty() ? 1e9 : std::stod(error);
}

// The workers use the default 10 min timeout: finishing in seconds shows nobody relied on it.
TEST(Distributed, FailingRankStopsTheOthers) {
  if (worker_mode()) GTEST_SKIP() << "this process is a launched rank; the parent process runs this test";
  FailureRun one = run_failure("fail1");
  EXPECT_EQ(one.codes, (std::vector<int>{0, 0}));
  EXPECT_NE(one.errors[0].find("rank 1 failed: injected failure at step 2"), std::string::npos);
  EXPECT_NE(one.errors[1].find("injected failure at step 2"), std::string::npos);
  EXPECT_LT(waited(one.errors[0]), 30.0);
  EXPECT_LT(one.seconds, 90.0);

  // Rank 0 hosts the store: it keeps it up until rank 1 has read the message.
  FailureRun zero = run_failure("fail0");
  EXPECT_EQ(zero.codes, (std::vector<int>{0, 0}));
  EXPECT_NE(zero.errors[1].find("rank 0 failed: injected failure at step 2"), std::string::npos);
  EXPECT_LT(waited(zero.errors[1]), 30.0);
}

TEST(Distributed, CrashedRankStopsTheOthers) {
  if (worker_mode()) GTEST_SKIP() << "this process is a launched rank; the parent process runs this test";
  FailureRun crash = run_failure("crash1");
  EXPECT_EQ(crash.codes, (std::vector<int>{0, 3}));
  EXPECT_NE(crash.errors[0].find("failed on rank 0"), std::string::npos);
  EXPECT_NE(crash.errors[0].find("no rank reported a failure"), std::string::npos);
  EXPECT_LT(waited(crash.errors[0]), 30.0);
}

// A rank that stalls is caught only by the collective timeout (c10d 1.13 cannot abort Gloo).
TEST(Distributed, HangingRankTimesOut) {
  if (worker_mode()) GTEST_SKIP() << "this process is a launched rank; the parent process runs this test";
  FailureRun hang = run_failure("hang1");
  EXPECT_EQ(hang.codes, (std::vector<int>{0, 0}));
  EXPECT_NE(hang.errors[0].find("hung past the 3 s timeout"), std::string::npos);
  EXPECT_GT(waited(hang.errors[0]), 2.5);
  EXPECT_LT(waited(hang.errors[0]), 30.0);
}

}  // namespace
}  // namespace lavender::train
