// The CLIP text encoder (transformers CLIPTextModel) that conditions Stable Diffusion 1.x/2.x:
// token + position embeddings, a causal CLIP encoder, a final layer norm. Module keys match the
// checkpoint (`text_model.embeddings.token_embedding.weight`, ...).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>

#include <string>
#include <vector>

#include "lavender/io/config/clip.h"
#include "lavender/nn/clip_encoder.h"

namespace lavender::dm {

struct ClipTextOutput {
  at::Tensor last_hidden_state;           // [B, T, d] after the final layer norm
  at::Tensor pooler_output;               // [B, d] at the end-of-text token
  std::vector<at::Tensor> hidden_states;  // embeddings + each layer's output (when asked)
};

class ClipTextEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit ClipTextEmbeddingsImpl(const io::config::ClipTextConfig& c);
  at::Tensor forward(const at::Tensor& input_ids);

  torch::nn::Embedding token_embedding{nullptr}, position_embedding{nullptr};
};
TORCH_MODULE(ClipTextEmbeddings);

class ClipTextTransformerImpl : public torch::nn::Module {
 public:
  explicit ClipTextTransformerImpl(const io::config::ClipTextConfig& c);
  ClipTextOutput forward(const at::Tensor& input_ids, bool all_hidden_states);

  ClipTextEmbeddings embeddings{nullptr};
  nn::ClipEncoder encoder{nullptr};
  torch::nn::LayerNorm final_layer_norm{nullptr};

 private:
  io::config::ClipTextConfig config_;
};
TORCH_MODULE(ClipTextTransformer);

class ClipTextModelImpl : public torch::nn::Module {
 public:
  explicit ClipTextModelImpl(const io::config::ClipTextConfig& c);
  // input_ids [B, T] (T ≤ max_position_embeddings). `all_hidden_states` also returns the input
  // to every layer and the last layer's output (SD 2.x conditions on the penultimate one).
  ClipTextOutput forward(const at::Tensor& input_ids, bool all_hidden_states = false);
  const io::config::ClipTextConfig& config() const { return config_; }

  ClipTextTransformer text_model{nullptr};

 private:
  io::config::ClipTextConfig config_;
};
TORCH_MODULE(ClipTextModel);

// Builds the model from a transformers folder (config.json + safetensors) and loads its weights
// strictly (the legacy `position_ids` buffer some checkpoints carry is ignored).
ClipTextModel load_clip_text_model(const std::string& folder, at::ScalarType dtype = at::kFloat,
                                   at::Device device = at::kCPU);

}  // namespace lavender::dm
