#include "lavender/vlm/kv_cache.h"

#include <ATen/ATen.h>

#include "lavender/util/error.h"

namespace lavender::vlm {

std::pair<at::Tensor, at::Tensor> LayerKvCache::append(const at::Tensor& k, const at::Tensor& v) {
  const int64_t t = k.size(2);
  if (length_ > 0 &&
      (k.size(0) != k_.size(0) || k.size(1) != k_.size(1) || k.size(3) != k_.size(3)))
    throw Error("KV cache: appended keys " + std::to_string(k.size(0)) + "x" +
                std::to_string(k.size(1)) + "x?x" + std::to_string(k.size(3)) +
                " do not match the cached batch/heads/head_dim");
  if (at::GradMode::is_enabled()) {
    // In-place writes into a shared buffer would break backward; concatenation keeps the graph.
    if (length_ == 0) {
      k_ = k, v_ = v;
    } else {
      k_ = at::cat({k_.narrow(2, 0, length_), k}, 2);
      v_ = at::cat({v_.narrow(2, 0, length_), v}, 2);
    }
    length_ += t;
    return {k_, v_};
  }
  const int64_t needed = length_ + t;
  if (!k_.defined() || k_.size(2) < needed) {
    // Double the capacity so that n single-position appends cost O(n) copies in total.
    int64_t capacity = std::max<int64_t>(needed, k_.defined() ? 2 * k_.size(2) : needed);
    at::Tensor nk = at::empty({k.size(0), k.size(1), capacity, k.size(3)}, k.options());
    at::Tensor nv = at::empty({v.size(0), v.size(1), capacity, v.size(3)}, v.options());
    if (length_ > 0) {
      nk.narrow(2, 0, length_).copy_(k_.narrow(2, 0, length_));
      nv.narrow(2, 0, length_).copy_(v_.narrow(2, 0, length_));
    }
    k_ = nk, v_ = nv;
  }
  k_.narrow(2, length_, t).copy_(k);
  v_.narrow(2, length_, t).copy_(v);
  length_ = needed;
  return {k_.narrow(2, 0, length_), v_.narrow(2, 0, length_)};
}

void LayerKvCache::clear() {
  k_ = at::Tensor(), v_ = at::Tensor();
  length_ = 0;
}

void LayerKvCache::select_rows(const at::Tensor& index) {
  if (length_ == 0) return;
  k_ = k_.narrow(2, 0, length_).index_select(0, index);
  v_ = v_.narrow(2, 0, length_).index_select(0, index);
}

LayerKvCache& KvCache::layer(size_t i) {
  if (i >= layers_.size())
    throw Error("KV cache: layer " + std::to_string(i) + " of a cache for " +
                std::to_string(layers_.size()) + " layers");
  return layers_[i];
}

void KvCache::clear() {
  for (auto& l : layers_) l.clear();
}

void KvCache::select_rows(const at::Tensor& index) {
  for (auto& l : layers_) l.select_rows(index);
}

}  // namespace lavender::vlm
