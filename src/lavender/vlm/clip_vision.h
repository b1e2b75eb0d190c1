// The CLIP vision tower (transformers CLIPVisionTransformer) as LLaVA uses it: a patch
// convolution, a class token and learned position embeddings, `pre_layrnorm` (the checkpoint's
// spelling), the CLIP encoder shared with the text encoder, and `post_layernorm` on the pooled
// class token. LLaVA reads an intermediate hidden state (layer -2), so forward() can stop early
// and returns every hidden state it computed.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include "lavender/nn/embedding.h"

#include <vector>

#include "lavender/io/config/clip.h"
#include "lavender/nn/clip_encoder.h"
#include "lavender/nn/layer_hooks.h"

namespace lavender::vlm {

class ClipVisionEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit ClipVisionEmbeddingsImpl(const io::config::ClipVisionConfig& c);
  // pixel_values [B, C, image_size, image_size] → [B, 1 + patches, hidden].
  at::Tensor forward(const at::Tensor& pixel_values);
  int64_t num_patches() const { return grid_ * grid_; }

  at::Tensor class_embedding;
  torch::nn::Conv2d patch_embedding{nullptr};
  nn::Embedding position_embedding{nullptr};

 private:
  int64_t image_size_, grid_;
};
TORCH_MODULE(ClipVisionEmbeddings);

struct ClipVisionOutput {
  // The input to every layer run (index 0: after pre_layrnorm) and the last one's output, as
  // transformers' `hidden_states`; all num_layers + 1 when the tower ran to the end.
  std::vector<at::Tensor> hidden_states;
  at::Tensor pooler_output;  // post_layernorm(class token); only when the tower ran to the end
};

class ClipVisionTransformerImpl : public torch::nn::Module {
 public:
  explicit ClipVisionTransformerImpl(const io::config::ClipVisionConfig& c);
  // Runs the first `layers` encoder layers (-1: all). `captures`: empty or one per layer.
  ClipVisionOutput forward(const at::Tensor& pixel_values, int64_t layers = -1,
                           const std::vector<nn::AttentionCapture*>& captures = {});
  int64_t num_layers() const { return config_.num_hidden_layers; }
  int64_t num_patches() const { return embeddings->num_patches(); }
  const io::config::ClipVisionConfig& config() const { return config_; }
  // Hooks around every encoder layer (nn/layer_hooks.h); nullptr: none.
  void set_layer_hooks(nn::LayerHooks* hooks) { layer_hooks_ = hooks; }

  ClipVisionEmbeddings embeddings{nullptr};
  torch::nn::LayerNorm pre_layrnorm{nullptr};
  nn::ClipEncoder encoder{nullptr};
  torch::nn::LayerNorm post_layernorm{nullptr};

 private:
  io::config::ClipVisionConfig config_;
  nn::LayerHooks* layer_hooks_ = nullptr;
};
TORCH_MODULE(ClipVisionTransformer);

}  // namespace lavender::vlm
