#include "lavender/nn/embedding.h"

#include <torch/torch.h>

#include "lavender/nn/init_guard.h"

namespace lavender::nn {

EmbeddingImpl::EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim) {
  weight = register_parameter("weight", torch::empty({num_embeddings, embedding_dim}));
  if (init_skipped()) return;
  torch::NoGradGuard no_grad;
  torch::nn::init::normal_(weight);  // torch::nn::Embedding's draw, so seeded models stay equal
}

at::Tensor EmbeddingImpl::forward(const at::Tensor& ids) {
  return torch::nn::functional::embedding(ids, weight);
}

void EmbeddingImpl::pretty_print(std::ostream& stream) const {
  stream << "lavender::nn::Embedding(num_embeddings=" << weight.size(0)
         << ", embedding_dim=" << weight.size(1) << ")";
}

}  // namespace lavender::nn
