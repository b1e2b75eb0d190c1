// Key/value cache for incremental decoding: one entry per attention layer holding the keys and
// values of every position seen so far ([batch, kv_heads, length, head_dim], after RoPE).
// Prefill appends the prompt, each decode step appends one position.
#pragma once

#include <ATen/core/Tensor.h>

#include <utility>
#include <vector>

namespace lavender::vlm {

class LayerKvCache {
 public:
  // Appends k/v [B, kv_heads, T, d] and returns views of everything cached so far. Without
  // autograd, storage grows by doubling and is written in place (no re-copy per step); with
  // autograd on, it concatenates so gradients flow through cached positions.
  std::pair<at::Tensor, at::Tensor> append(const at::Tensor& k, const at::Tensor& v);
  int64_t length() const { return length_; }
  void clear();
  // Keeps rows `index` ([B'] long) of the batch (beam search / dropping finished rows).
  void select_rows(const at::Tensor& index);

 private:
  at::Tensor k_, v_;  // [B, kv_heads, capacity, d]
  int64_t length_ = 0;
};

class KvCache {
 public:
  explicit KvCache(size_t layers = 0) : layers_(layers) {}
  LayerKvCache& layer(size_t i);
  size_t num_layers() const { return layers_.size(); }
  // Positions cached (that of the first layer; all layers advance together).
  int64_t length() const { return layers_.empty() ? 0 : layers_[0].length(); }
  void clear();
  void select_rows(const at::Tensor& index);

 private:
  std::vector<LayerKvCache> layers_;
};

}  // namespace lavender::vlm
