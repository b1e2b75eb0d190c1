// --sharding full (FSDP's FULL_SHARD, ZeRO stage 3) for the model's repeated layers: each decoder
// layer (and each frozen vision-encoder layer) is a unit whose parameters live, between uses, as
// flat buffers of which every rank keeps 1/N. A unit is gathered whole just before it runs and
// given up right after (nn/layer_hooks.h); under gradient checkpointing its backward gathers it
// again for the recomputation, then reduce-scatters its gradients into the owners' shards
// (averaged over ranks, summed in the master dtype over micro-batches) and gives it up once more.
// AdamW steps the flat master shards; after a step each rank copies its masters into its shard.
//
// Communication overlaps computation: when a unit starts, the gather of the unit expected next
// (train/layer_order.h: the forward's next layer, the backward's previous one) is started and
// runs while this one computes, so at most two units are whole at a time.
//
// Each unit has up to three flat buffers: parameters that take weight decay, those that do not,
// and frozen ones (a LoRA run's base weights: sharded, gathered, never reduced). Flattening does
// not change the update: AdamW is elementwise, and the padding that makes a buffer divide by N
// holds zeros with zero gradients.
//
// The trainable parameters outside the layers (embeddings, the output head, norms, the projector,
// the Aligner, vision layers that train and so run without recomputation) form one more unit,
// "rest", that stays whole on every rank: only its master weights, gradients and AdamW state are
// flat shards (as grad-op, but split by elements, so every rank holds the same share). Its
// gradients are reduce-scattered after each micro-batch's backward (reduce_rest()), and after a
// step the updated shards are gathered back into its parameters. Frozen parameters outside the
// layers are left alone.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lavender/nn/layer_hooks.h"
#include "lavender/train/layer_order.h"

namespace lavender::train {

class Distributed;

// A unit to shard: its name in the model (checkpoint names) and the layer module.
struct ShardedLayer {
  std::string name;
  const torch::nn::Module* module = nullptr;
};

class LayerSharding : public nn::LayerHooks {
 public:
  // AdamW's parameter groups (the Aligner has its own learning rate), and the frozen.
  enum Group { decay = 0, no_decay = 1, aligner = 2, frozen = 3 };
  static constexpr int kGroups = 4;

  // The trainable parameters by AdamW group; a layer's other parameters are frozen. Every rank
  // passes the same layers and parameters in the same order, whole (as loaded and broadcast).
  // Shards them and gives up the layers' whole parameters.
  LayerSharding(const std::vector<ShardedLayer>& layers, const std::vector<at::Tensor>& decay,
                const std::vector<at::Tensor>& no_decay, const std::vector<at::Tensor>& aligner,
                at::ScalarType master_dtype, Distributed& dist);
  ~LayerSharding() override;

  // The flat master shards of a group's buffers, in unit order: what AdamW steps. Their
  // gradients are what the reductions summed into them.
  std::vector<at::Tensor> masters(Group group) const;
  // The master shards by a name that says their unit and group, for checkpoints.
  std::vector<std::pair<std::string, at::Tensor>> named_masters() const;
  // Elements of the units' buffers this rank keeps (trainable and frozen).
  int64_t shard_elements() const;
  // Units that were already gathered or on their way when they started (prefetched), and all
  // starts, since construction.
  int64_t prefetched_starts() const { return prefetched_starts_; }
  int64_t starts() const { return starts_; }

  // After each micro-batch's backward, on every rank: the gradients of the parameters outside the
  // layers are reduce-scattered into the masters' (the layers' were, during the backward).
  void reduce_rest();
  // After an optimizer step or a resume: the masters become this rank's shards, and the rest's
  // parameters are gathered from them.
  void publish();
  // Every unit gathered (saving the final model): kept whole, or given up right away on a rank
  // that only takes part in the collectives; release_all() gives them up again.
  void gather_all(bool keep);
  void release_all();

  void before(const torch::nn::Module& layer) override;
  void after_forward(const torch::nn::Module& layer) override;
  void after_backward(const torch::nn::Module& layer) override;
  bool manages(const torch::nn::Module& layer) const override;
  bool trains(const torch::nn::Module& layer) const override;

 private:
  struct Flat;
  struct Unit;
  void make_shards(Unit& unit, at::ScalarType master_dtype);
  Unit* unit_of(const torch::nn::Module& layer);
  const Unit* unit_of(const torch::nn::Module& layer) const;
  void gather(Unit& unit);
  void start_gather(Unit& unit);
  void prefetch(int64_t unit);
  void cancel_prefetch();
  void release(Unit& unit);
  void reduce_gradients(Unit& unit);

  Distributed& dist_;
  std::vector<Unit> units_;  // the layers, then the rest
  std::unordered_map<const torch::nn::Module*, size_t> index_;
  LayerOrder order_;
  int64_t prefetched_ = -1;  // a unit gathered ahead of its start, until it starts
  int64_t prefetched_starts_ = 0, starts_ = 0;
};

}  // namespace lavender::train
