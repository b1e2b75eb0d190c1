// --sharding grad-op (FSDP's SHARD_GRAD_OP, ZeRO stage 2): every rank holds the whole model, but
// each trainable parameter has one owner rank, which alone keeps its master copy, its gradient
// and its AdamW state, so those fall as 1/N. After each micro-batch's backward the gradients are
// reduced (all-reduce and keep the owner's part: Gloo in LibTorch 1.13 has no reduce-scatter) and
// summed into the owners' master gradients; after the step each owner broadcasts its updated
// parameters. Ownership is by whole parameter (as torch's ZeroRedundancyOptimizer partitions),
// balanced by size, the same on every rank.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace lavender::train {

class Distributed;
class MasterWeights;

enum class Sharding { none, grad_op, full };
// "none" | "grad-op" | "full"; throws lavender::Error naming the accepted values.
Sharding parse_sharding(const std::string& name);

// The owner rank of each of `sizes` (elements per parameter): largest first, each to the rank
// holding the fewest elements so far (the lowest such rank on ties).
std::vector<int> assign_owners(const std::vector<int64_t>& sizes, int world);

class GradSharding {
 public:
  // `params`: every trainable parameter of the model (and the Aligner), in the same order on
  // every rank.
  GradSharding(std::vector<at::Tensor> params, Distributed& dist);

  // The parameters of `subset` this rank owns, in order.
  std::vector<at::Tensor> owned(const std::vector<at::Tensor>& subset) const;
  int64_t owned_elements() const { return owned_elements_; }

  // After a backward: reduces every parameter's gradient over ranks (in fp32, a few hundred MB
  // at a time), adds the owned ones into their masters' gradients and frees them all.
  void reduce_gradients(const MasterWeights& masters);
  // After a step (or a resume): every owner sends its parameters' values to the other ranks.
  void broadcast_parameters();

 private:
  bool is_mine(const at::Tensor& p) const;

  std::vector<at::Tensor> params_;
  std::vector<int> owner_;
  Distributed& dist_;
  int64_t owned_elements_ = 0;
};

}  // namespace lavender::train
