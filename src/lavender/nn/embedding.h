// A lookup table with the same `weight` [num, dim] parameter, default init (standard normal)
// and forward as torch::nn::Embedding, that a SkipInitGuard can build without drawing values:
// the VLMs' token, position and tile tables are among their largest tensors.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace lavender::nn {

class EmbeddingImpl : public torch::nn::Module {
 public:
  EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim);
  at::Tensor forward(const at::Tensor& ids);
  void pretty_print(std::ostream& stream) const override;

  at::Tensor weight;
};
TORCH_MODULE(Embedding);

}  // namespace lavender::nn
