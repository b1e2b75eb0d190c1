// Hooks around a model's layers, for training that keeps a layer's parameters whole only while
// the layer runs (--sharding full: train/layer_sharding.h). Models call them from their layer
// loops; without hooks (nullptr) nothing changes.
//
// A layer's parameters are made whole before its forward and may be given up again as soon as
// no autograd graph refers to them: right after a forward in no-grad mode, or, under gradient
// checkpointing, after the forward pass (which keeps no graph) and again after the layer's
// recomputation and backward (nn/checkpoint.h calls before() and after_backward() there).
#pragma once

#include <ATen/core/Tensor.h>

namespace torch::nn {
class Module;
}

namespace lavender::nn {

class LayerHooks {
 public:
  virtual ~LayerHooks() = default;
  // Before `layer` runs (its forward, or its recomputation during backward).
  virtual void before(const torch::nn::Module& layer) = 0;
  // After a forward of `layer` that left no graph through its parameters.
  virtual void after_forward(const torch::nn::Module& layer) = 0;
  // After `layer`'s backward: its parameters' gradients are complete for this backward.
  virtual void after_backward(const torch::nn::Module& layer) = 0;
  // Whether the hooks give `layer`'s parameters up between uses (the other methods do nothing for
  // a layer they do not manage).
  virtual bool manages(const torch::nn::Module& layer) const = 0;
  // Whether `layer` has parameters that train (a graph through them must be recomputed).
  virtual bool trains(const torch::nn::Module& layer) const = 0;
};

// A layer and the hooks that manage it (hooks == nullptr: none).
struct HookedLayer {
  LayerHooks* hooks = nullptr;
  const torch::nn::Module* layer = nullptr;
};

// Makes `layer` whole for the scope of a forward that keeps no graph through its parameters:
// no-grad mode, or a layer whose parameters are all frozen and whose `input` needs no gradient.
// Throws lavender::Error when a graph would be kept (that needs gradient checkpointing).
class WholeLayer {
 public:
  WholeLayer(HookedLayer hooked, const at::Tensor& input);
  ~WholeLayer();
  WholeLayer(const WholeLayer&) = delete;
  WholeLayer& operator=(const WholeLayer&) = delete;

 private:
  HookedLayer hooked_;
};

}  // namespace lavender::nn
