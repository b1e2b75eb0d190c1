// Training checkpoints: everything a run needs to continue exactly where it stopped.
//
//   <out>/checkpoints/step-000120/
//       trainable.safetensors  the parameters that train (student and Aligner), the Aligner's
//                              buffers, and the random generators' states (the CPU's, and the
//                              GPU's when training on one)
//       optimizer.pt           AdamW's moments and step counts (LibTorch's archive)
//       state.json             step, counters, the options of the run
//   <out>/checkpoints/latest   the name of the newest complete checkpoint
//
// Under grad-op sharding each of N ranks writes its own share as
// trainable-rank-K-of-N.safetensors and optimizer-rank-K-of-N.pt into the same folder, and
// state.json says "shards": N; such a checkpoint resumes with N ranks.
//
// A checkpoint is written into `step-N.tmp/` and renamed into place, and `latest` is replaced
// atomically afterwards, so a crash mid-save leaves the previous checkpoint as the latest.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace torch::optim {
class Optimizer;
}

namespace lavender::train {

// Which share of a sharded checkpoint this process writes or reads (world 1: the whole).
struct CheckpointShard {
  int rank = 0, world = 1;
  std::function<void()> barrier;  // waits for every rank (sharded only)
};

struct CheckpointContents {
  std::vector<std::pair<std::string, at::Tensor>> tensors;  // name → tensor to save / restore into
  nlohmann::json state;
};

// Writes checkpoint `step` and removes older ones beyond `keep`. Returns its folder.
std::string save_training_checkpoint(const std::string& out, int64_t step,
                                     const CheckpointContents& contents,
                                     torch::optim::Optimizer& optimizer, int64_t keep,
                                     const CheckpointShard& shard = {});

// The folder of the newest complete checkpoint in <out>/checkpoints, or "" when there is none.
std::string latest_checkpoint(const std::string& out);

// Copies the saved tensors into `contents.tensors` (same names and shapes, else lavender::Error
// naming the checkpoint), loads the optimizer, and returns state.json.
nlohmann::json load_training_checkpoint(const std::string& folder, CheckpointContents& contents,
                                        torch::optim::Optimizer& optimizer,
                                        const CheckpointShard& shard = {});

}  // namespace lavender::train
