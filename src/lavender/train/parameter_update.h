// How the trainable parameters are stepped: the master copies AdamW updates (mixed_precision.h),
// their share per rank under grad-op and full sharding (grad_sharding.h, layer_sharding.h), the
// loss scale, gradient
// reduction over ranks, clipping, and the step itself. The trainer hands it the model's
// trainable parameters once and then calls, per optimizer step:
//   start(lr)                     learning rates set, gradients freed
//   backward(loss × loss_factor())   (the trainer's), then fold_gradients(), per micro-batch
//   finish(total loss)            reduced, unscaled, clipped, stepped and published, or skipped
#pragma once

#include <ATen/core/Tensor.h>
#include <torch/optim/adamw.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "lavender/train/adamw.h"
#include "lavender/train/grad_sharding.h"
#include "lavender/train/layer_sharding.h"
#include "lavender/train/mixed_precision.h"

namespace lavender::train {

class Distributed;
struct TrainOptions;

enum class StepOutcome { taken, overflow, bad };

struct StepResult {
  StepOutcome outcome = StepOutcome::bad;
  double grad_norm = 0;  // of the whole (unscaled, reduced) gradient, before clipping
};

class ParameterUpdate {
 public:
  // Throws lavender::Error for a --dtype, --master-weights, --loss-scale or --sharding it cannot
  // honour, before any work.
  static void check_options(const TrainOptions& options);

  // Parameters of the student that take weight decay, those that do not, and the Aligner's (its
  // own learning rate). Every rank starts from rank 0's values. `layers`: the units --sharding
  // full shards (ignored otherwise); their parameters are given up until a unit runs.
  ParameterUpdate(const TrainOptions& options, Distributed& dist,
                  const std::vector<at::Tensor>& decay, const std::vector<at::Tensor>& no_decay,
                  const std::vector<at::Tensor>& aligner,
                  const std::vector<ShardedLayer>& layers = {});
  ~ParameterUpdate();

  void start(double lr);
  // What a micro-batch's loss is multiplied by before its backward: the loss scale, and the
  // world size (gradients are averaged over ranks; each rank's loss is its share of the mean).
  double loss_factor() const;
  // After every micro-batch's backward, on every rank (sharded: a collective).
  void fold_gradients();
  // `total_loss`: the step's loss, summed over ranks (every rank passes the same).
  StepResult finish(double total_loss);

  double loss_scale() const { return scaler_.scale(); }
  // Whether this rank keeps `param`'s master, gradient and AdamW state (always, unsharded; never
  // under full sharding, whose state is in flat_masters()).
  bool owns(const at::Tensor& param) const;
  // Full sharding: this rank's flat master shards, by name (checkpoints).
  std::vector<std::pair<std::string, at::Tensor>> flat_masters() const;
  // Full sharding: the layers' hooks and their sharding (nullptr otherwise).
  LayerSharding* layer_sharding() { return layers_.get(); }
  at::Tensor master_of(const at::Tensor& param) const { return masters_.masters_of({param})[0]; }
  bool sharded() const { return sharding_ != nullptr || layers_ != nullptr; }
  torch::optim::Optimizer& optimizer();
  nlohmann::json loss_scale_state() const { return scaler_.state(); }
  // After the masters and the optimizer were restored from a checkpoint.
  void restored(const nlohmann::json& loss_scale_state);

 private:
  double clip_sharded(const std::vector<at::Tensor>& owned);
  void publish();  // masters → the model's parameters and shards, on every rank

  const TrainOptions& o_;
  Distributed& dist_;
  std::unique_ptr<LayerSharding> layers_;   // --sharding full
  std::unique_ptr<GradSharding> sharding_;  // --sharding grad-op
  MasterWeights masters_;
  LossScaler scaler_;
  std::unique_ptr<GroupedAdamW> adamw_;
  std::vector<at::Tensor> stepped_;  // what the optimizer steps: this rank's masters
};

}  // namespace lavender::train
