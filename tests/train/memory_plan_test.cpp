// The memory plan's arithmetic: what each sharding strategy divides, LoRA's trainable count,
// master weights only when narrower weights need them, and the verdict.
#include "lavender/train/memory_plan.h"

#include <gtest/gtest.h>

#include "lavender/util/error.h"

namespace lavender::train {
namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

vlm::ParameterCount model() {
  vlm::ParameterCount c;
  c.architecture = "test";
  c.vision = 100;
  c.projector = 20;
  c.language = 880;
  c.language_layers = 800;  // two decoder layers of 400
  c.vision_layers = 80;
  c.largest_layer = 400;
  c.attention_linears = {{"q_proj", 10, 10, 2}, {"v_proj", 10, 5, 2}};
  c.hidden_size = 8;
  c.num_layers = 2;
  c.num_heads = 2;
  c.vocab_size = 16;
  return c;
}

TEST(MemoryPlan, ShardingDividesWhatItShards) {
  PlanOptions o;
  o.dtype = "bf16";
  o.master = "fp32";
  o.world_size = 4;
  const MemoryPlan none = plan_memory(model(), o);
  EXPECT_EQ(none.total_parameters, 1000);
  EXPECT_EQ(none.trainable_parameters, 900);  // the vision encoder is frozen
  EXPECT_DOUBLE_EQ(none.weights, 2000);
  EXPECT_DOUBLE_EQ(none.master_weights, 3600);
  EXPECT_DOUBLE_EQ(none.gradients, 3600);
  EXPECT_DOUBLE_EQ(none.optimizer, 7200);
  o.sharding = "grad-op";
  const MemoryPlan grad_op = plan_memory(model(), o);
  EXPECT_DOUBLE_EQ(grad_op.weights, 2000);
  EXPECT_DOUBLE_EQ(grad_op.master_weights, 900);
  EXPECT_DOUBLE_EQ(grad_op.gradients, 900 + 900 * 2);  // the backward's bf16 set, then 1/4
  EXPECT_DOUBLE_EQ(grad_op.optimizer, 1800);
  o.sharding = "full";
  const MemoryPlan full = plan_memory(model(), o);
  // The layers (decoder 800, frozen vision 80) are sharded, one gathered at a time; the other
  // 120 parameters stay whole.
  EXPECT_DOUBLE_EQ(full.weights, 120 * 2 + 880 * 2 / 4 + 2 * 400 * 2);  // running + prefetched
  EXPECT_DOUBLE_EQ(full.master_weights, 900);
  // The masters' share, the backward's gradients outside the layers, and one layer's (its bf16
  // gradient and the fp32 flat copy reduced).
  EXPECT_DOUBLE_EQ(full.gradients, 900 + 100 * 2 + 400 * 6);
  EXPECT_DOUBLE_EQ(full.optimizer, 1800);
  EXPECT_DOUBLE_EQ(full.activations, none.activations);  // activations are per sample
}

TEST(MemoryPlan, NoMasterCopyWhenWeightsAreAlreadyFp32) {
  PlanOptions o;
  o.dtype = "fp32";
  o.master = "fp32";
  EXPECT_DOUBLE_EQ(plan_memory(model(), o).master_weights, 0);
  o.dtype = "bf16";
  o.master = "bf16";
  const MemoryPlan pure = plan_memory(model(), o);
  EXPECT_DOUBLE_EQ(pure.master_weights, 0);
  EXPECT_DOUBLE_EQ(pure.optimizer, 2 * 900 * 2);
}

// With fp32 masters a backward's bf16 gradients are folded in tensor by tensor; under accumulation
// the whole set of them meets the running fp32 sum.
TEST(MemoryPlan, AccumulationHoldsTheBackwardsGradientsBesideTheMasters) {
  PlanOptions o;
  o.dtype = "bf16";
  o.master = "fp32";
  EXPECT_DOUBLE_EQ(plan_memory(model(), o).gradients, 900 * 4);
  o.grad_accum = 4;
  EXPECT_DOUBLE_EQ(plan_memory(model(), o).gradients, 900 * (4 + 2));
  o.master = "bf16";
  EXPECT_DOUBLE_EQ(plan_memory(model(), o).gradients, 900 * 2);
}

TEST(MemoryPlan, LoraTrainsTheAdaptersAndTheAligner) {
  PlanOptions o;
  o.lora = true;
  o.lora_rank = 4;
  o.lora_targets = {"q_proj", "v_proj"};
  o.aligner_parameters = 7;
  const MemoryPlan p = plan_memory(model(), o);
  const int64_t lora = 2 * 4 * 20 + 2 * 4 * 15;
  EXPECT_EQ(p.trainable_parameters, lora + 7);
  EXPECT_EQ(p.total_parameters, 1000 + lora + 7);
}

TEST(MemoryPlan, VerdictKeepsAReserve) {
  PlanOptions o;
  o.gpu_memory_gib = MemoryPlan::kReserveGiB;  // nothing left for tensors
  const MemoryPlan p = plan_memory(model(), o);
  EXPECT_TRUE(p.has_verdict);
  EXPECT_FALSE(p.fits);
  o.gpu_memory_gib = MemoryPlan::kReserveGiB + p.total() / kGiB + 0.01;
  EXPECT_TRUE(plan_memory(model(), o).fits);
}

TEST(MemoryPlan, BadOptionsAreErrors) {
  PlanOptions o;
  o.sharding = "zero3";
  EXPECT_THROW(plan_memory(model(), o), Error);
  o = {};
  o.dtype = "int8";
  EXPECT_THROW(plan_memory(model(), o), Error);
  o = {};
  o.world_size = 0;
  EXPECT_THROW(plan_memory(model(), o), Error);
}

}  // namespace
}  // namespace lavender::train
