// `lavender train`: fine-tunes a VLM with L_VLM + λ·L_att (METHOD.md) on one process.
//
// A step: for each of grad_accum micro-batches, prepare the samples (decoded on a background
// thread while the previous micro-batch computes), run the student with attention capture on the
// aligned layers, average each matched word's rows into maps, pool heads/layers, refine with the
// Aligner, take the MSE with the teacher's maps, and backpropagate the weighted sum; then clip the
// gradient norm and take an AdamW step with the scheduled learning rate. Non-finite losses or
// gradients skip the step (counted); too many in a row stop the run, keeping the checkpoint from
// before the trouble. Checkpoints every save_every steps and on SIGINT/SIGTERM; --resume
// continues exactly (same data, same random draws, same optimizer state).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lavender/train/progress_sample.h"
#include "lavender/train/train_options.h"

namespace lavender::train {

struct StepRecord {
  int64_t step = 0;  // 1-based: the step just taken
  double total = 0, text = 0, attention = 0, lambda = 0, text_weight = 0, lr = 0, grad_norm = 0;
  double tokens_per_s = 0, seconds = 0;
  double loss_scale = 1;  // the factor the loss was multiplied by before the backward
  int64_t words = 0, samples = 0, tokens = 0;
  int64_t positions = 0;  // sequence positions the step computed (image tokens included), all ranks
  bool skipped = false;
};

struct TrainSummary {
  int64_t start_step = 0, steps = 0;  // steps: the last step reached
  int64_t skipped_steps = 0, bad_samples = 0, samples_without_maps = 0, samples_without_words = 0;
  bool interrupted = false;
  std::string model_dir, checkpoint;
  std::vector<StepRecord> history;  // steps of this invocation
};

class TrainingRun;
class Distributed;

// With RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT set (torchrun, or Slurm's variables) the run is
// data parallel: each rank prepares its share of every step's samples, gradients are averaged
// over ranks, every rank logs the same averaged losses, and only rank 0 writes files.
class Trainer {
 public:
  explicit Trainer(TrainOptions options);
  ~Trainer();
  // Called after every step; returning true stops the run as SIGINT would (tests, embedding).
  void set_stop_check(std::function<bool(const StepRecord&)> check) { stop_ = std::move(check); }
  // Called with every step's record (progress displays, metrics sinks).
  void set_step_callback(std::function<void(const StepRecord&)> cb) { on_step_ = std::move(cb); }
  // Draws the progress figures written every figure_every steps (<out>/figures and TensorBoard);
  // without a drawer none are written.
  void set_figure_drawer(FigureDrawer drawer) { draw_ = std::move(drawer); }
  TrainSummary run();

 private:
  TrainSummary train(TrainingRun& run, Distributed& dist);

  TrainOptions options_;
  std::function<bool(const StepRecord&)> stop_;
  std::function<void(const StepRecord&)> on_step_;
  FigureDrawer draw_;
};

}  // namespace lavender::train
