// The SigLIP vision tower in its NaViT form (transformers Idefics2VisionTransformer), which
// MiniCPM-Llama3-V 2.5 loads under `vpm.`: a stride-patch convolution, a learned position table of
// (image_size / patch_size)² entries looked up by *bucketed* position ids, the CLIP-layout encoder
// (`encoder.layers.N.self_attn.q_proj`, `layer_norm1`, `mlp.fc1`, gelu_pytorch_tanh), and
// `post_layernorm` on every token.
//
// Images of different sizes share a batch through `patch_attention_mask` [N, rows, cols] (true =
// a real patch): image n's real patches form a nb_h × nb_w grid whose fractional coordinates
// (arange(0, 1 - 1e-6, 1 / nb) in float32) are bucketed into the table's nps × nps grid, so any
// grid size maps onto the whole table; padded patches keep position 0 and are masked as keys.
// A mask with no false entry is no mask at all (every token sees every token).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>

#include "lavender/io/config/clip.h"
#include "lavender/nn/clip_encoder.h"
#include "lavender/nn/embedding.h"
#include "lavender/nn/layer_hooks.h"

namespace lavender::vlm {

// Position ids [N, rows · cols] for a patch mask [N, rows, cols] (bool), as
// Idefics2VisionEmbeddings computes them for a table of `per_side` × `per_side` positions.
at::Tensor bucketed_position_ids(const at::Tensor& patch_attention_mask, int64_t per_side);

class SiglipVisionEmbeddingsImpl : public torch::nn::Module {
 public:
  explicit SiglipVisionEmbeddingsImpl(const io::config::ClipVisionConfig& c);
  // pixel_values [N, C, H, W] (multiples of the patch size), mask [N, H/p, W/p] bool →
  // [N, (H/p)(W/p), hidden].
  at::Tensor forward(const at::Tensor& pixel_values, const at::Tensor& patch_attention_mask);
  int64_t patches_per_side() const { return per_side_; }

  torch::nn::Conv2d patch_embedding{nullptr};
  nn::Embedding position_embedding{nullptr};

 private:
  int64_t patch_size_, per_side_;
};
TORCH_MODULE(SiglipVisionEmbeddings);

class SiglipVisionTransformerImpl : public torch::nn::Module {
 public:
  // `layers`: encoder layers to build (the config's count, or one fewer when the model drops the
  // last layer).
  SiglipVisionTransformerImpl(const io::config::ClipVisionConfig& c, int64_t layers);
  // pixel_values [N, C, H, W]; patch_attention_mask [N, H/p, W/p] bool, undefined: all real.
  // Returns the last hidden state after post_layernorm, [N, (H/p)(W/p), hidden].
  at::Tensor forward(const at::Tensor& pixel_values, const at::Tensor& patch_attention_mask = {});
  int64_t hidden_size() const { return config_.hidden_size; }
  int64_t patch_size() const { return config_.patch_size; }
  const io::config::ClipVisionConfig& config() const { return config_; }
  // Hooks around every encoder layer (nn/layer_hooks.h: --sharding full); nullptr: none.
  void set_layer_hooks(nn::LayerHooks* hooks) { layer_hooks_ = hooks; }

  SiglipVisionEmbeddings embeddings{nullptr};
  nn::ClipEncoder encoder{nullptr};
  torch::nn::LayerNorm post_layernorm{nullptr};

 private:
  io::config::ClipVisionConfig config_;
  nn::LayerHooks* layer_hooks_ = nullptr;
};
TORCH_MODULE(SiglipVisionTransformer);

}  // namespace lavender::vlm
