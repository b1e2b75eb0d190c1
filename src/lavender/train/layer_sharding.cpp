#include "lavender/train/layer_sharding.h"

#include <c10/util/accumulate.h>
#include <torch/nn/module.h>
#include <torch/torch.h>
#include <algorithm>

#include "lavender/train/distributed.h"
#include "lavender/train/mixed_precision.h"
#include "lavender/util/error.h"

namespace lavender::train {

// One flat buffer of a unit: its parameters laid end to end, padded to a multiple of the world.
struct LayerSharding::Flat {
  std::vector<at::Tensor> params;  // the model's own tensors (set_data swaps what they hold)
  std::vector<std::vector<int64_t>> shapes;
  int64_t elements = 0;  // before padding
  int64_t chunk = 0;     // elements per rank
  at::Tensor shard;      // this rank's chunk, in the model's dtype
  at::Tensor master;     // its master copy (the shard itself when the dtypes agree)
  at::Tensor full;       // the gathered buffer while the unit is whole
};

struct LayerSharding::Unit {
  std::string name;
  const torch::nn::Module* module = nullptr;  // nullptr: the rest, always whole
  Flat flats[kGroups];
  bool whole = true;
  std::vector<Distributed::PendingGather> in_flight;  // started gathers of the flats
};

namespace {

const char* group_name(int g) {
  constexpr const char* names[] = {"decay", "no_decay", "aligner", "frozen"};
  return names[g];
}

// A parameter with nothing in it: what a sharded parameter holds while its unit is not whole.
at::Tensor nothing_like(const at::Tensor& p) {
  return at::empty({0}, at::TensorOptions().dtype(p.scalar_type()).device(p.device()));
}

}  // namespace

LayerSharding::LayerSharding(const std::vector<ShardedLayer>& layers,
                             const std::vector<at::Tensor>& decay_params,
                             const std::vector<at::Tensor>& no_decay_params,
                             const std::vector<at::Tensor>& aligner_params,
                             at::ScalarType master_dtype, Distributed& dist)
    : dist_(dist) {
  torch::NoGradGuard no_grad;
  std::unordered_map<const void*, int> group;
  const std::vector<at::Tensor>* trainable[] = {&decay_params, &no_decay_params, &aligner_params};
  for (int g : {decay, no_decay, aligner})
    for (const auto& p : *trainable[g]) group[p.unsafeGetTensorImpl()] = g;
  units_.resize(layers.size());
  for (size_t u = 0; u < layers.size(); ++u) {
    Unit& unit = units_[u];
    unit.name = layers[u].name;
    unit.module = layers[u].module;
    index_[unit.module] = u;
    for (const auto& p : unit.module->parameters()) {
      auto it = group.find(p.unsafeGetTensorImpl());
      unit.flats[it == group.end() ? frozen : it->second].params.push_back(p);
      if (it != group.end()) group.erase(it);  // taken by this layer
    }
    make_shards(unit, master_dtype);
    release(unit);
  }
  // The rest, in pieces of about kRestPiece elements (a larger parameter alone), so that reducing
  // a piece's gradients needs only a piece's fp32 buffer at a time.
  constexpr int64_t kRestPiece = int64_t{32} << 20;
  for (int g : {decay, no_decay, aligner}) {
    int64_t filled = kRestPiece;
    for (const auto& p : *trainable[g]) {
      if (!group.count(p.unsafeGetTensorImpl())) continue;
      if (filled >= kRestPiece) {
        units_.emplace_back();
        units_.back().name = "rest." + std::to_string(units_.size() - layers.size() - 1);
        filled = 0;
      }
      units_.back().flats[g].params.push_back(p);
      filled += p.numel();
    }
  }
  for (size_t u = layers.size(); u < units_.size(); ++u) make_shards(units_[u], master_dtype);
}

// Lays a unit's parameters end to end per group and keeps this rank's chunk, and for the
// trainable groups its master copy.
void LayerSharding::make_shards(Unit& unit, at::ScalarType master_dtype) {
  const int64_t world = dist_.world_size();
  for (int g = 0; g < kGroups; ++g) {
    Flat& f = unit.flats[g];
    if (f.params.empty()) continue;
    for (const auto& p : f.params) {
      if (p.scalar_type() != f.params[0].scalar_type())
        throw Error("--sharding full: " + unit.name + " mixes parameter dtypes in one group");
      f.shapes.push_back(p.sizes().vec());
      f.elements += p.numel();
    }
    f.chunk = (f.elements + world - 1) / world;
    // This rank's chunk, copied from the parameters it overlaps (zeros past the end).
    f.shard = at::zeros({f.chunk}, f.params[0].options());
    const int64_t begin = dist_.rank() * f.chunk, end = begin + f.chunk;
    int64_t offset = 0;
    for (const auto& p : f.params) {
      const int64_t from = std::max(begin, offset), to = std::min(end, offset + p.numel());
      if (from < to)
        f.shard.narrow(0, from - begin, to - from)
            .copy_(p.detach().reshape({-1}).narrow(0, from - offset, to - from));
      offset += p.numel();
    }
    if (g != frozen) {
      // A master never narrower than its parameter (the fp32 Aligner rule of MasterWeights).
      const at::ScalarType d = f.shard.scalar_type() == at::kFloat ? at::kFloat : master_dtype;
      f.master = f.shard.scalar_type() == d ? f.shard : f.shard.to(d);
    }
  }
}

LayerSharding::~LayerSharding() = default;

std::vector<at::Tensor> LayerSharding::masters(Group group) const {
  std::vector<at::Tensor> out;
  for (const auto& unit : units_)
    if (unit.flats[group].master.defined()) out.push_back(unit.flats[group].master);
  return out;
}

std::vector<std::pair<std::string, at::Tensor>> LayerSharding::named_masters() const {
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const auto& unit : units_)
    for (int g : {decay, no_decay, aligner})
      if (unit.flats[g].master.defined())
        out.emplace_back("flat." + unit.name + "." + group_name(g), unit.flats[g].master);
  return out;
}

int64_t LayerSharding::shard_elements() const {
  int64_t n = 0;
  for (const auto& unit : units_)
    for (const auto& f : unit.flats)
      if (f.shard.defined()) n += f.chunk;
  return n;
}

void LayerSharding::reduce_rest() {
  // The micro-batch's passes are over: a unit prefetched for a start that did not come is given
  // up, and the next micro-batch's order starts afresh.
  cancel_prefetch();
  order_.restart();
  for (auto& unit : units_)
    if (!unit.module) reduce_gradients(unit);
}

void LayerSharding::publish() {
  cancel_prefetch();
  torch::NoGradGuard no_grad;
  for (auto& unit : units_)
    for (auto& f : unit.flats)
      if (f.master.defined() && !f.master.is_same(f.shard)) f.shard.copy_(f.master);
  // The rest is whole on every rank: its parameters take the gathered update in place.
  for (auto& unit : units_) {
    if (unit.module) continue;
    for (auto& f : unit.flats) {
      if (f.params.empty()) continue;
      at::Tensor full = at::empty({f.chunk * dist_.world_size()}, f.shard.options());
      dist_.all_gather(f.shard, full);
      int64_t offset = 0;
      for (auto& p : f.params) {
        p.detach().copy_(full.narrow(0, offset, p.numel()).view(p.sizes()));
        offset += p.numel();
      }
    }
  }
}

void LayerSharding::gather_all(bool keep) {
  cancel_prefetch();
  for (auto& unit : units_) {
    if (!unit.module) continue;  // the rest is whole
    gather(unit);
    if (!keep) release(unit);
  }
}

void LayerSharding::release_all() {
  cancel_prefetch();
  for (auto& unit : units_)
    if (unit.module) release(unit);
}

LayerSharding::Unit* LayerSharding::unit_of(const torch::nn::Module& layer) {
  auto it = index_.find(&layer);
  return it == index_.end() ? nullptr : &units_[it->second];
}

const LayerSharding::Unit* LayerSharding::unit_of(const torch::nn::Module& layer) const {
  auto it = index_.find(&layer);
  return it == index_.end() ? nullptr : &units_[it->second];
}

void LayerSharding::before(const torch::nn::Module& layer) {
  Unit* unit = unit_of(layer);
  if (!unit) return;
  const size_t u = index_.at(&layer);
  ++starts_;
  if (prefetched_ == static_cast<int64_t>(u)) {
    ++prefetched_starts_;
    prefetched_ = -1;
  }
  gather(*unit);  // finishes a prefetch under way
  prefetch(order_.starting(u));
}

void LayerSharding::after_forward(const torch::nn::Module& layer) {
  Unit* unit = unit_of(layer);
  if (!unit) return;
  order_.finished(index_.at(&layer), LayerOrder::Event::forward);
  release(*unit);
}

void LayerSharding::after_backward(const torch::nn::Module& layer) {
  Unit* unit = unit_of(layer);
  if (!unit) return;
  order_.finished(index_.at(&layer), LayerOrder::Event::backward);
  reduce_gradients(*unit);
  release(*unit);
}

void LayerSharding::prefetch(int64_t u) {
  if (u < 0 || u == prefetched_) return;
  Unit& unit = units_[static_cast<size_t>(u)];
  if (unit.whole || !unit.in_flight.empty()) return;  // running now, or already coming
  cancel_prefetch();                                  // one unit ahead at most
  start_gather(unit);
  prefetched_ = u;
}

void LayerSharding::cancel_prefetch() {
  if (prefetched_ < 0) return;
  Unit& unit = units_[static_cast<size_t>(prefetched_)];
  prefetched_ = -1;
  gather(unit);  // the collective was started on every rank: it completes everywhere
  release(unit);
}

bool LayerSharding::manages(const torch::nn::Module& layer) const {
  return unit_of(layer) != nullptr;
}

bool LayerSharding::trains(const torch::nn::Module& layer) const {
  const Unit* unit = unit_of(layer);
  return unit && (unit->flats[decay].shard.defined() || unit->flats[no_decay].shard.defined() ||
                  unit->flats[aligner].shard.defined());
}

void LayerSharding::start_gather(Unit& unit) {
  if (unit.whole || !unit.in_flight.empty()) return;
  for (auto& f : unit.flats) {
    if (f.params.empty()) continue;
    f.full = at::empty({f.chunk * dist_.world_size()}, f.shard.options());
    unit.in_flight.push_back(dist_.all_gather_start(f.shard, f.full));
  }
}

void LayerSharding::gather(Unit& unit) {
  if (unit.whole) return;
  start_gather(unit);
  for (auto& pending : unit.in_flight) pending.finish();
  unit.in_flight.clear();
  torch::NoGradGuard no_grad;
  for (auto& f : unit.flats) {
    if (f.params.empty()) continue;
    // set_data keeps each parameter's autograd identity (what the optimizer and the LoRA
    // layers hold); only what it holds changes.
    int64_t offset = 0;
    for (size_t i = 0; i < f.params.size(); ++i) {
      const int64_t n = c10::multiply_integers(f.shapes[i]);
      f.params[i].set_data(f.full.narrow(0, offset, n).view(f.shapes[i]));
      offset += n;
    }
  }
  unit.whole = true;
}

void LayerSharding::release(Unit& unit) {
  if (!unit.whole) return;
  for (auto& f : unit.flats) {
    for (auto& p : f.params) p.set_data(nothing_like(p));
    f.full = at::Tensor();
  }
  unit.whole = false;
}

void LayerSharding::reduce_gradients(Unit& unit) {
  torch::NoGradGuard no_grad;
  for (int g : {decay, no_decay, aligner}) {
    Flat& f = unit.flats[g];
    if (f.params.empty()) continue;
    // The whole unit's gradient in fp32, zeros where this rank's backward left none (every rank
    // must pass the same buffer), each parameter's freed as soon as it is copied.
    at::Tensor full =
        at::zeros({f.chunk * dist_.world_size()}, f.master.options().dtype(at::kFloat));
    int64_t offset = 0;
    for (auto& p : f.params) {
      if (p.grad().defined()) full.narrow(0, offset, p.numel()).copy_(p.grad().reshape({-1}));
      p.mutable_grad() = at::Tensor();
      offset += p.numel();
    }
    at::Tensor mine = dist_.world_size() == 1 ? full : at::empty({f.chunk}, full.options());
    dist_.reduce_scatter_mean(full, mine);
    add_gradient(f.master, mine);
  }
}

}  // namespace lavender::train
