#include "lavender/train/grad_sharding.h"

#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "lavender/train/distributed.h"
#include "lavender/train/mixed_precision.h"
#include "lavender/util/error.h"

namespace lavender::train {

Sharding parse_sharding(const std::string& name) {
  if (name == "none") return Sharding::none;
  if (name == "grad-op") return Sharding::grad_op;
  if (name == "full") return Sharding::full;
  throw Error("--sharding \"" + name + "\" is not one of none, grad-op, full");
}

std::vector<int> assign_owners(const std::vector<int64_t>& sizes, int world) {
  std::vector<size_t> order(sizes.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return sizes[a] > sizes[b]; });
  std::vector<int64_t> load(static_cast<size_t>(std::max(world, 1)), 0);
  std::vector<int> owner(sizes.size(), 0);
  for (size_t i : order) {
    const auto least = std::min_element(load.begin(), load.end()) - load.begin();
    owner[i] = static_cast<int>(least);
    load[static_cast<size_t>(least)] += sizes[i];
  }
  return owner;
}

GradSharding::GradSharding(std::vector<at::Tensor> params, Distributed& dist)
    : params_(std::move(params)), dist_(dist) {
  std::vector<int64_t> sizes;
  for (const auto& p : params_) sizes.push_back(p.numel());
  owner_ = assign_owners(sizes, dist_.world_size());
  for (size_t i = 0; i < params_.size(); ++i)
    if (owner_[i] == dist_.rank()) owned_elements_ += sizes[i];
}

bool GradSharding::is_mine(const at::Tensor& p) const {
  for (size_t i = 0; i < params_.size(); ++i)
    if (params_[i].is_same(p)) return owner_[i] == dist_.rank();
  throw Error("internal: a parameter the sharding does not know");
}

std::vector<at::Tensor> GradSharding::owned(const std::vector<at::Tensor>& subset) const {
  std::vector<at::Tensor> out;
  for (const auto& p : subset)
    if (is_mine(p)) out.push_back(p);
  return out;
}

void GradSharding::reduce_gradients(const MasterWeights& masters) {
  torch::NoGradGuard no_grad;
  constexpr int64_t kChunkBytes = 256 << 20;
  size_t begin = 0;
  while (begin < params_.size()) {
    // A chunk of parameters, their gradients as fp32 (zeros where this rank has none: every
    // rank must pass the same tensors).
    size_t end = begin;
    int64_t bytes = 0;
    std::vector<at::Tensor> grads;
    while (end < params_.size() && (end == begin || bytes < kChunkBytes)) {
      const at::Tensor& p = params_[end];
      grads.push_back(p.grad().defined() ? p.grad().to(at::kFloat)
                                         : torch::zeros(p.sizes(), p.options().dtype(at::kFloat)));
      bytes += p.numel() * 4;
      ++end;
    }
    dist_.all_reduce_mean(grads);
    for (size_t i = begin; i < end; ++i) {
      at::Tensor& p = params_[i];
      p.mutable_grad() = at::Tensor();
      if (owner_[i] != dist_.rank()) continue;
      add_gradient(masters.masters_of({p})[0], grads[i - begin]);
    }
    begin = end;
  }
}

void GradSharding::broadcast_parameters() {
  for (int r = 0; r < dist_.world_size(); ++r) {
    std::vector<at::Tensor> from_r;
    for (size_t i = 0; i < params_.size(); ++i)
      if (owner_[i] == r) from_r.push_back(params_[i]);
    if (!from_r.empty()) dist_.broadcast_parameters(from_r, r);
  }
}

}  // namespace lavender::train
