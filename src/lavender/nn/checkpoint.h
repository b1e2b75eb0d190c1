// Gradient checkpointing: run a piece of the network without keeping its activations, and
// recompute them during backward. Trades one extra forward of that piece for its activation
// memory, which is what lets long sequences or big batches fit when fine-tuning.
//
// The random generators' states (the CPU's, and the GPU's the inputs are on) are replayed for the
// recomputation, so dropout inside the piece draws the same masks both times, and the forward's
// autocast settings are re-entered, so the recomputed graph computes in the same dtypes.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

#include "lavender/nn/attention.h"
#include "lavender/nn/layer_hooks.h"

namespace lavender::nn {

using CheckpointedFn = std::function<std::vector<at::Tensor>(const std::vector<at::Tensor>&)>;

// `hooked`: the layer the piece is, for its LayerHooks: before() runs ahead of the forward and of
// the recomputation, after_forward() after the forward, after_backward() once the recomputed
// piece's backward is done.
//
// fn(inputs) → outputs (every output defined). Parameters fn uses get their gradients during
// backward as if fn had run normally; inputs that require grad get theirs. Outside grad mode
// this is just fn(inputs) (within the hooks' before() and after_forward()).
std::vector<at::Tensor> checkpoint(const CheckpointedFn& fn, const std::vector<at::Tensor>& inputs,
                                   HookedLayer hooked = {});

// A decoder layer's call layer(inputs, capture) → hidden, checkpointed. When `capture` asks for
// attention, its probabilities leave the checkpointed call as a second output, so a loss on them
// reaches the layer through the recomputation.
using CapturingLayerFn =
    std::function<at::Tensor(const std::vector<at::Tensor>&, AttentionCapture*)>;
at::Tensor checkpoint_layer(const CapturingLayerFn& layer, const std::vector<at::Tensor>& inputs,
                            AttentionCapture* capture, HookedLayer hooked = {});

}  // namespace lavender::nn
