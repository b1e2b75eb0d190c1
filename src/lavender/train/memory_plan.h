// What a training run will hold in memory per rank, from parameter counts alone (so it answers
// for the 90B model on a laptop): weights, fp32 master weights, gradients, AdamW state and an
// activation estimate, for full fine-tuning or LoRA, under the sharding strategies of FSDP
// (none = replicated, grad-op = gradients and optimizer state sharded, full = parameters too),
// and whether it fits a given GPU. `lavender plan` prints it; `lavender train` prints it first.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lavender/vlm/parameter_count.h"

namespace lavender::train {

struct PlanOptions {
  bool lora = false;
  int64_t lora_rank = 8;
  std::vector<std::string> lora_targets{"q_proj", "k_proj", "v_proj", "o_proj"};
  bool train_vision = false;    // --freeze '' (default: the vision encoder stays frozen)
  std::string dtype = "bf16";   // storage/compute dtype of the weights
  std::string master = "fp32";  // trainable parameters' master copy and AdamW state
  int64_t world_size = 1;
  std::string sharding = "none";  // none | grad-op | full
  double gpu_memory_gib = 0;      // 0: no verdict
  int64_t batch_size = 1;         // per rank
  int64_t grad_accum = 1;         // micro-batches per step
  int64_t seq_len = 512;          // text tokens per sample (image tokens come on top)
  bool gradient_checkpointing = false;
  int64_t aligner_parameters = 0;
};

struct TrainOptions;
// The plan's view of a training run's options (LoRA, freezing, dtype, batch, checkpointing,
// Aligner size; the sequence length is --max-tokens, the worst case).
PlanOptions plan_options_from(const TrainOptions& options);

struct MemoryPlan {
  int64_t total_parameters = 0, trainable_parameters = 0;
  // Bytes per rank.
  double weights = 0, master_weights = 0, gradients = 0, optimizer = 0, activations = 0;
  double total() const { return weights + master_weights + gradients + optimizer + activations; }
  // Memory the CUDA context and allocator take beyond tensors, assumed for the verdict.
  static constexpr double kReserveGiB = 1.5;
  bool has_verdict = false, fits = false;
};

// Throws lavender::Error for an unknown dtype, master dtype or sharding, or a world size < 1.
MemoryPlan plan_memory(const vlm::ParameterCount& count, const PlanOptions& options);

// The plan as a table for a terminal (what `lavender plan` prints).
std::string format_plan(const vlm::ParameterCount& count, const PlanOptions& options,
                        const MemoryPlan& plan);

}  // namespace lavender::train
