// How a student's attention maps over heads and layers become the Aligner's input (METHOD.md,
// "Aggregation across heads and layers"; the paper ablates these):
//   pooling      {max, mean} over heads × {max, mean} over layers → one channel;
//   heads        pool over layers only, keep heads as channels;
//   flow         combine layers recursively, Ā ← Ā ∘ A(l) (product) or Ā ← Ā + A(l) (sum),
//                optionally weighting heads by the mean over patches of their max over text rows.
// Input maps [B, layers, heads, words, S, S]; output [B, words, channels, S, S]. Differentiable.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>

namespace lavender::align {

enum class Pool { max, mean };

struct HeadLayerPooling {
  enum class Kind { pool, heads, flow } kind = Kind::pool;
  Pool over_heads = Pool::mean;   // kind == pool
  Pool over_layers = Pool::mean;  // kind == pool or heads
  bool flow_product = true;       // kind == flow: product (true) or sum
  bool head_weighting = false;    // kind == flow
};

// "max-max", "max-mean", "mean-max", "mean-mean" (heads-layers), "heads-max", "heads-mean",
// "flow-product", "flow-sum", "flow-product-weighted", "flow-sum-weighted". Throws for others.
HeadLayerPooling parse_head_layer_pooling(const std::string& name);
std::string head_layer_pooling_name(const HeadLayerPooling& p);

// Channels the pooled maps carry (1, or the number of heads for Kind::heads).
int64_t pooled_channels(const HeadLayerPooling& p, int64_t heads);

at::Tensor pool_heads_layers(const at::Tensor& maps, const HeadLayerPooling& p);

}  // namespace lavender::align
