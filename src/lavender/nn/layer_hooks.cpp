#include "lavender/nn/layer_hooks.h"

#include <torch/nn/module.h>
#include <torch/torch.h>

#include "lavender/util/error.h"

namespace lavender::nn {

WholeLayer::WholeLayer(HookedLayer hooked, const at::Tensor& input) : hooked_(hooked) {
  if (!hooked_.hooks || !hooked_.hooks->manages(*hooked_.layer)) {
    hooked_.hooks = nullptr;
    return;
  }
  const torch::nn::Module& layer = *hooked_.layer;
  if (torch::GradMode::is_enabled() &&
      (hooked_.hooks->trains(layer) || (input.defined() && input.requires_grad())))
    throw Error("internal: " + layer.name() +
                " would keep a graph through parameters that are sharded after the layer runs; "
                "sharded layers in a backward need gradient checkpointing");
  hooked_.hooks->before(layer);
}

WholeLayer::~WholeLayer() {
  if (hooked_.hooks) hooked_.hooks->after_forward(*hooked_.layer);
}

}  // namespace lavender::nn
