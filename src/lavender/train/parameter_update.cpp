#include "lavender/train/parameter_update.h"

#include <torch/torch.h>

#include <cmath>

#include "lavender/runtime/dtype.h"
#include "lavender/train/distributed.h"
#include "lavender/train/train_options.h"
#include "lavender/util/error.h"
#include "lavender/util/log.h"

namespace lavender::train {
namespace {

// The sum of squares of the gradients, in double precision, read back once (one host sync).
double squared_norm(const std::vector<at::Tensor>& params) {
  if (params.empty()) return 0.0;
  std::vector<at::Tensor> parts;
  parts.reserve(params.size());
  for (const auto& p : params) parts.push_back(p.grad().to(torch::kDouble).pow(2).sum());
  return torch::stack(parts).sum().item<double>();
}

// The 2-norm of all gradients together.
double total_norm(const std::vector<at::Tensor>& params) {
  return std::sqrt(squared_norm(params));
}

}  // namespace

void ParameterUpdate::check_options(const TrainOptions& o) {
  const at::ScalarType dtype = runtime::parse_dtype(o.dtype);
  const at::ScalarType master = runtime::parse_dtype(o.master_weights);
  if (master != at::kFloat && master != dtype)
    throw Error("--master-weights " + o.master_weights + ": must be fp32 or the same as --dtype (" +
                o.dtype + ")");
  parse_loss_scale(o.loss_scale, dtype);
  parse_sharding(o.sharding);
}

ParameterUpdate::ParameterUpdate(const TrainOptions& options, Distributed& dist,
                                 const std::vector<at::Tensor>& decay,
                                 const std::vector<at::Tensor>& no_decay,
                                 const std::vector<at::Tensor>& aligner,
                                 const std::vector<ShardedLayer>& layers)
    : o_(options), dist_(dist) {
  const at::ScalarType master_dtype = runtime::parse_dtype(o_.master_weights);
  scaler_ = LossScaler(parse_loss_scale(o_.loss_scale, runtime::parse_dtype(o_.dtype)));
  std::vector<at::Tensor> all = decay;
  all.insert(all.end(), no_decay.begin(), no_decay.end());
  all.insert(all.end(), aligner.begin(), aligner.end());
  dist_.broadcast_parameters(all);  // every rank starts from rank 0's weights
  const Sharding sharding = parse_sharding(o_.sharding);
  std::vector<at::Tensor> stepped_decay, stepped_no_decay, stepped_aligner;
  if (sharding == Sharding::full) {
    // Every trainable parameter's state in flat shards: the layers' parameters too.
    layers_ =
        std::make_unique<LayerSharding>(layers, decay, no_decay, aligner, master_dtype, dist_);
    stepped_decay = layers_->masters(LayerSharding::decay);
    stepped_no_decay = layers_->masters(LayerSharding::no_decay);
    stepped_aligner = layers_->masters(LayerSharding::aligner);
    log::info("full sharding: this rank keeps ", layers_->shard_elements(),
              " elements of the parameters' flat shards (the layers' weights; every trainable "
              "parameter's master weights, gradients and AdamW state)");
  } else {
    if (sharding == Sharding::grad_op) sharding_ = std::make_unique<GradSharding>(all, dist_);
    // What this rank steps: its share when sharded, everything otherwise.
    auto mine = [&](const std::vector<at::Tensor>& v) {
      return sharding_ ? sharding_->owned(v) : v;
    };
    // The optimizer steps the masters; the model's own parameters are copies in --dtype.
    masters_ = MasterWeights(mine(all), master_dtype, /*always_copy=*/sharding_ != nullptr);
    stepped_decay = masters_.masters_of(mine(decay));
    stepped_no_decay = masters_.masters_of(mine(no_decay));
    stepped_aligner = masters_.masters_of(mine(aligner));
    if (masters_.separate())
      log::info("trainable parameters keep ", o_.master_weights, " master weights");
    if (sharding_)
      log::info("grad-op sharding: this rank keeps the masters, gradients and AdamW state of ",
                sharding_->owned_elements(), " of the trainable parameters' elements");
  }
  for (const auto* v : {&stepped_decay, &stepped_no_decay, &stepped_aligner})
    stepped_.insert(stepped_.end(), v->begin(), v->end());

  // AdamW with three groups: decayed, undecayed, and the Aligner (its own learning rate).
  std::vector<AdamWGroup> groups{{stepped_decay, o_.weight_decay, 1.0},
                                 {stepped_no_decay, 0.0, 1.0}};
  if (!aligner.empty())
    groups.push_back({stepped_aligner, 0.0, o_.aligner_lr > 0 ? o_.aligner_lr / o_.lr.lr : 1.0});
  adamw_ = std::make_unique<GroupedAdamW>(
      std::move(groups), AdamWSettings{o_.lr.lr, o_.adam_beta1, o_.adam_beta2, o_.adam_eps});
}

torch::optim::Optimizer& ParameterUpdate::optimizer() {
  return adamw_->optimizer();
}

ParameterUpdate::~ParameterUpdate() = default;

void ParameterUpdate::start(double lr) {
  adamw_->set_learning_rate(lr);
  // Gradients are freed rather than zeroed: between steps they would only take memory.
  for (auto& p : stepped_) p.mutable_grad() = at::Tensor();
}

double ParameterUpdate::loss_factor() const {
  return scaler_.scale() * static_cast<double>(dist_.world_size());
}

void ParameterUpdate::fold_gradients() {
  if (layers_)
    layers_->reduce_rest();
  else if (sharding_)
    sharding_->reduce_gradients(masters_);
  else
    masters_.accumulate_gradients();
}

StepResult ParameterUpdate::finish(double total_loss) {
  if (!sharded()) dist_.all_reduce_gradients(stepped_);
  std::vector<at::Tensor> with_grad;
  for (const auto& p : stepped_)
    if (p.grad().defined()) with_grad.push_back(p);
  if (scaler_.scale() != 1.0) {
    torch::NoGradGuard no_grad;
    for (auto& p : with_grad) p.mutable_grad().mul_(1.0 / scaler_.scale());
  }
  StepResult r;
  if (sharded())
    r.grad_norm = clip_sharded(with_grad);
  else if (with_grad.empty())
    r.grad_norm = 0.0;
  else if (o_.max_grad_norm > 0)
    r.grad_norm = torch::nn::utils::clip_grad_norm_(with_grad, o_.max_grad_norm);
  else
    r.grad_norm = total_norm(with_grad);
  // Skipped on every rank when a loss or the gradient is not finite anywhere: an overflow the
  // loss scale explains (the scale backs off), or trouble in the training itself.
  if (!dist_.all_agree(std::isfinite(total_loss))) return r;
  const bool finite = dist_.all_agree(std::isfinite(r.grad_norm));
  if (!scaler_.update(finite)) return r;
  if (!finite) {
    r.outcome = StepOutcome::overflow;
    return r;
  }
  adamw_->optimizer().step();
  publish();
  r.outcome = StepOutcome::taken;
  return r;
}

// The norm of the whole gradient from each rank's owned part, and clipping as
// torch::nn::utils::clip_grad_norm_ does.
double ParameterUpdate::clip_sharded(const std::vector<at::Tensor>& owned) {
  const double norm = std::sqrt(dist_.all_reduce_sum(squared_norm(owned)));
  const double coef = o_.max_grad_norm / (norm + 1e-6);
  if (o_.max_grad_norm > 0 && std::isfinite(norm) && coef < 1) {
    torch::NoGradGuard no_grad;
    for (const auto& p : owned) p.grad().mul_(coef);
  }
  return norm;
}

bool ParameterUpdate::owns(const at::Tensor& param) const {
  if (layers_) return false;  // all in flat_masters()
  return !sharding_ || !sharding_->owned({param}).empty();
}

std::vector<std::pair<std::string, at::Tensor>> ParameterUpdate::flat_masters() const {
  return layers_ ? layers_->named_masters() : std::vector<std::pair<std::string, at::Tensor>>{};
}

void ParameterUpdate::publish() {
  masters_.publish();
  if (sharding_) sharding_->broadcast_parameters();
  if (layers_) layers_->publish();
}

void ParameterUpdate::restored(const nlohmann::json& loss_scale_state) {
  publish();
  scaler_.restore(loss_scale_state);
}

}  // namespace lavender::train
