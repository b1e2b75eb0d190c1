// grad-op sharding in one process: ownership, and that the sharded path (owned masters,
// gradients reduced into them, the norm from the owned parts, per-rank checkpoint files) steps
// exactly as the replicated one. Several processes: trainer_distributed_test.cpp.
#include "lavender/train/grad_sharding.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "lavender/train/parameter_update.h"
#include "lavender/train/trainer.h"
#include "lavender/util/error.h"
#include "train/tiny_training_run.h"

namespace lavender::train {
namespace {

TEST(GradSharding, OwnersBalanceTheElements) {
  const std::vector<int64_t> sizes{100, 10, 60, 50, 30, 5, 5};
  const std::vector<int> owners = assign_owners(sizes, 2);
  ASSERT_EQ(owners.size(), sizes.size());
  int64_t load[2] = {0, 0};
  for (size_t i = 0; i < sizes.size(); ++i) load[owners[i]] += sizes[i];
  EXPECT_EQ(load[0], 130);                     // 100, 30
  EXPECT_EQ(load[1], 130);                     // 60, 50, 10, 5, 5
  EXPECT_EQ(assign_owners(sizes, 2), owners);  // the same on every rank
  for (int o : assign_owners(sizes, 1)) EXPECT_EQ(o, 0);
  // More ranks than parameters: some own nothing.
  const auto many = assign_owners({4, 3}, 4);
  EXPECT_EQ(many, (std::vector<int>{0, 1}));
}

TEST(GradSharding, Spellings) {
  EXPECT_EQ(parse_sharding("none"), Sharding::none);
  EXPECT_EQ(parse_sharding("grad-op"), Sharding::grad_op);
  EXPECT_EQ(parse_sharding("full"), Sharding::full);
  EXPECT_THROW(parse_sharding("zero3"), Error);
}

TEST(GradSharding, OneRankStepsAsTheReplicatedTrainer) {
  test::TempDir dir;
  auto run = test::write_tiny_training_run(dir.path(), 8, "llava", true, true);
  TrainOptions o = test::tiny_run_options(run, "");
  o.max_steps = 4;
  o.batch_size = 2;
  o.grad_accum = 2;
  o.save_every = 2;
  o.max_grad_norm = 1.0;  // clipping from the owned parts
  for (const char* dtype : {"fp32", "bf16"}) {
    o.dtype = dtype;
    o.sharding = "none";
    o.out = dir.file(std::string(dtype) + "-none");
    const TrainSummary none = Trainer(o).run();
    for (const std::string sharding : {"grad-op", "full"}) {
      o.sharding = sharding;
      o.out = dir.file(std::string(dtype) + "-" + sharding);
      const TrainSummary sharded = Trainer(o).run();
      ASSERT_EQ(none.history.size(), sharded.history.size());
      for (size_t i = 0; i < none.history.size(); ++i) {
        const StepRecord &a = none.history[i], &b = sharded.history[i];
        EXPECT_NEAR(a.total, b.total, 1e-6 * a.total)
            << dtype << " " << sharding << " step " << a.step;
        EXPECT_NEAR(a.grad_norm, b.grad_norm, 1e-5 * a.grad_norm)
            << dtype << " " << sharding << " step " << a.step;
      }
      // One rank: the unsharded checkpoint layout.
      EXPECT_TRUE(std::filesystem::exists(sharded.checkpoint + "/trainable.safetensors"));
    }
  }
}

}  // namespace
}  // namespace lavender::train
