// Mixed-precision training: the model computes in --dtype (bf16, fp16 or fp32) while the trainable
// parameters keep a master copy in --master-weights (fp32 by default) that AdamW updates, so small
// updates are not rounded away (a bf16 weight of 0.02 moves only in steps of 7.8e-5; an update of
// lr 1e-5 vanishes). fp16's narrow range needs loss scaling: the loss is multiplied before the
// backward so small gradients do not flush to zero, and divided out of the fp32 gradients again.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace lavender::train {

// The master copies of a model's trainable parameters, in `dtype` or the parameter's own when
// that is wider (the fp32 Aligner keeps fp32 masters under --master-weights bf16). Where a
// parameter already has the master dtype it is its own master (no copy, gradients stay where
// autograd puts them) unless `always_copy` (sharded training: the master's gradient is the sum
// over ranks, kept apart from the gradient each backward leaves on the parameter).
class MasterWeights {
 public:
  MasterWeights() = default;
  MasterWeights(const std::vector<at::Tensor>& params, at::ScalarType dtype,
                bool always_copy = false);

  // The masters of `params` (which must be among the constructor's), in order: what the optimizer
  // steps and the checkpoint holds.
  std::vector<at::Tensor> masters_of(const std::vector<at::Tensor>& params) const;
  // Adds the gradients a backward just left on the model's parameters into the masters' (in the
  // master dtype, so accumulation over micro-batches does not round in bf16) and frees the model's.
  void accumulate_gradients();
  // Copies the masters into the model's parameters (after an optimizer step or a resume).
  void publish();
  // True when some parameter has a separate master copy.
  bool separate() const { return !pairs_.empty(); }

 private:
  std::vector<std::pair<at::Tensor, at::Tensor>> pairs_;  // (model parameter, master) copies only
  std::unordered_map<const void*, at::Tensor> master_;    // parameter's impl → its master
};

// Adds `grad` (converted to the master's dtype) into `master`'s gradient, or makes it the
// gradient when there is none yet.
void add_gradient(const at::Tensor& master, const at::Tensor& grad);

// --loss-scale: "auto" (dynamic for fp16, none otherwise), "dynamic" (from 65536),
// "dynamic:START", "none", or a fixed number.
struct LossScaleOptions {
  bool dynamic = false;
  double scale = 1.0;             // the fixed scale, or the dynamic one's start
  double growth = 2.0;            // after `interval` finite steps in a row
  double backoff = 0.5;           // after a step whose gradients overflowed
  int64_t interval = 2000;        // as torch.cuda.amp.GradScaler
  double min_scale = 1.0 / 1024;  // a scale driven below this means the loss itself is broken
};
// Throws lavender::Error naming the accepted values.
LossScaleOptions parse_loss_scale(const std::string& value, at::ScalarType dtype);

class LossScaler {
 public:
  explicit LossScaler(LossScaleOptions options = {});
  double scale() const { return scale_; }
  bool dynamic() const { return options_.dynamic; }
  // After a step: `finite` says whether the scaled gradients were finite on every rank. A
  // dynamic scaler backs off on an overflow and grows after a run of good steps; returns false
  // when an overflow cannot be blamed on the scale (fixed scale, or already at the floor).
  bool update(bool finite);
  nlohmann::json state() const;
  void restore(const nlohmann::json& state);  // a state() of an earlier run; {} keeps the start

 private:
  LossScaleOptions options_;
  double scale_;
  int64_t good_steps_ = 0;
};

}  // namespace lavender::train
