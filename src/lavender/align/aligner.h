// The Aligner (METHOD.md): a small network that turns the pooled student maps of one word
// (channels = heads or 1, S×S) into a single map to compare with the teacher's. Convolutions see
// local spatial context, which is why they beat an MLP in the paper. Variants:
//   light  conv3×3 C→h, norm, act, conv3×3 h→C, norm, act, conv1×1 C→1
//   sim    conv3×3 C→h, norm, act, conv3×3 h→h, norm, act, conv3×3 h→C, norm, act, conv1×1 C→1
//          (the authors' default)
//   deep   as sim with three h→h stages
//   mlp    the sim layout with 1×1 kernels: a per-position MLP over channels, no spatial context
// Norms: instance (default), batch, group, none; activations: relu6 (default), leaky_relu (0.1,
// the authors' choice with attention flow). The output is min-max normalised per map.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>

#include <string>

namespace lavender::align {

struct AlignerOptions {
  std::string variant = "sim";
  int64_t in_channels = 1;
  int64_t hidden = 32;
  std::string norm = "instance";
  std::string activation = "relu6";
};

class AlignerImpl : public torch::nn::Module {
 public:
  explicit AlignerImpl(const AlignerOptions& options);
  // x [N, C, S, S] → [N, S, S] in [0, 1] (each map min-max normalised; a flat map gives 0).
  at::Tensor forward(const at::Tensor& x);
  const AlignerOptions& options() const { return options_; }

  torch::nn::Sequential layers{nullptr};

 private:
  AlignerOptions options_;
};
TORCH_MODULE(Aligner);

}  // namespace lavender::align
