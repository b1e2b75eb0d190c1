#include "lavender/train/mixed_precision.h"

#include <torch/torch.h>

#include <cmath>

#include "lavender/util/error.h"

namespace lavender::train {

MasterWeights::MasterWeights(const std::vector<at::Tensor>& params, at::ScalarType dtype,
                             bool always_copy) {
  torch::NoGradGuard no_grad;
  for (const auto& p : params) {
    if (master_.count(p.unsafeGetTensorImpl())) continue;
    const at::ScalarType d = p.scalar_type() == at::kFloat ? at::kFloat : dtype;
    at::Tensor master = p;
    if (p.scalar_type() != d || always_copy) {
      master = p.detach().to(d, /*non_blocking=*/false, /*copy=*/true).requires_grad_(true);
      pairs_.emplace_back(p, master);
    }
    master_.emplace(p.unsafeGetTensorImpl(), master);
  }
}

std::vector<at::Tensor> MasterWeights::masters_of(const std::vector<at::Tensor>& params) const {
  std::vector<at::Tensor> out;
  out.reserve(params.size());
  for (const auto& p : params) {
    auto it = master_.find(p.unsafeGetTensorImpl());
    if (it == master_.end()) throw Error("internal: a parameter without a master copy");
    out.push_back(it->second);
  }
  return out;
}

void MasterWeights::accumulate_gradients() {
  torch::NoGradGuard no_grad;
  for (auto& [param, master] : pairs_) {
    at::Tensor& g = param.mutable_grad();
    if (!g.defined()) continue;
    add_gradient(master, g);
    g = at::Tensor();
  }
}

void add_gradient(const at::Tensor& master, const at::Tensor& grad) {
  torch::NoGradGuard no_grad;
  at::Tensor& mg = master.mutable_grad();
  if (mg.defined())
    mg.add_(grad.to(master.scalar_type()));
  else
    mg = grad.to(master.scalar_type());
}

void MasterWeights::publish() {
  torch::NoGradGuard no_grad;
  for (auto& [param, master] : pairs_) param.copy_(master);
}

LossScaleOptions parse_loss_scale(const std::string& value, at::ScalarType dtype) {
  LossScaleOptions o;
  if (value == "auto") {
    o.dynamic = dtype == at::kHalf;
    o.scale = o.dynamic ? 65536.0 : 1.0;
  } else if (value == "none") {
    o.scale = 1.0;
  } else {
    // "dynamic", "dynamic:START" or a fixed factor.
    const std::string dynamic = "dynamic";
    o.dynamic = value.rfind(dynamic, 0) == 0;
    std::string number = o.dynamic ? value.substr(dynamic.size()) : value;
    if (o.dynamic && number.empty()) number = ":65536";
    if (o.dynamic) number = number[0] == ':' ? number.substr(1) : "";
    char* end = nullptr;
    o.scale = std::strtod(number.c_str(), &end);
    if (number.empty() || *end != '\0' || !std::isfinite(o.scale) || o.scale <= 0)
      throw Error("--loss-scale: \"" + value +
                  "\" is not auto, dynamic, dynamic:START, none or a positive number");
  }
  return o;
}

LossScaler::LossScaler(LossScaleOptions options) : options_(options), scale_(options.scale) {}

bool LossScaler::update(bool finite) {
  if (finite) {
    if (options_.dynamic && ++good_steps_ >= options_.interval) {
      scale_ *= options_.growth;
      good_steps_ = 0;
    }
    return true;
  }
  good_steps_ = 0;
  if (!options_.dynamic || scale_ <= options_.min_scale) return false;
  scale_ *= options_.backoff;
  return true;
}

nlohmann::json LossScaler::state() const {
  return {{"scale", scale_}, {"good_steps", good_steps_}};
}

void LossScaler::restore(const nlohmann::json& state) {
  if (!state.is_object() || !options_.dynamic) return;
  scale_ = state.value("scale", scale_);
  good_steps_ = state.value("good_steps", good_steps_);
}

}  // namespace lavender::train
