// The Llama 3.2 Vision (mllama) image encoder. Each image is a stack of tiles (up to
// max_num_tiles, laid out by an aspect-ratio id); tiles are patch-embedded, tagged with learned
// per-aspect-ratio tile embeddings, run jointly through a local transformer, then a gated global
// transformer. Its output per patch is the final state concatenated with chosen intermediate
// states (vision_output_dim wide), which the projector turns into the text model's
// cross-attention keys and values. Submodules carry the checkpoint's names under `vision_model.`.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>
#include "lavender/nn/embedding.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "lavender/io/config/mllama.h"
#include "lavender/nn/attention.h"
#include "lavender/nn/clip_encoder.h"
#include "lavender/nn/layer_hooks.h"
#include "lavender/nn/linear.h"

namespace lavender::vlm {

// Which vision layers to read ("transformer.layers.N", "global_transformer.layers.N") and what
// they gave: post-softmax probabilities [B·media, heads, L, L] over all tiles' padded patches.
struct VisionAttentionCapture {
  std::set<std::string> layers;
  std::map<std::string, at::Tensor> probs;
};

class MllamaVisionAttentionImpl : public torch::nn::Module {
 public:
  MllamaVisionAttentionImpl(int64_t hidden, int64_t heads);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask,
                     nn::AttentionCapture* capture = nullptr);

  nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};

 private:
  int64_t heads_, head_dim_;
};
TORCH_MODULE(MllamaVisionAttention);

// Pre-norm layer; the global transformer's layers scale both branches by tanh(gate).
class MllamaVisionLayerImpl : public torch::nn::Module {
 public:
  MllamaVisionLayerImpl(const io::config::MllamaVisionConfig& c, bool gated);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask,
                     nn::AttentionCapture* capture = nullptr);

  MllamaVisionAttention self_attn{nullptr};
  nn::ClipMlp mlp{nullptr};
  torch::nn::LayerNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  at::Tensor gate_attn, gate_ffn;  // gated layers only
};
TORCH_MODULE(MllamaVisionLayer);

// `transformer.layers.*` or `global_transformer.layers.*`. Returns the hidden states before
// each layer and after the last (transformers' `hidden_states`: index 0 is the input).
class MllamaVisionEncoderImpl : public torch::nn::Module {
 public:
  MllamaVisionEncoderImpl(const io::config::MllamaVisionConfig& c, int64_t layers, bool gated);
  std::vector<at::Tensor> forward(const at::Tensor& x, const at::Tensor& mask,
                                  const std::string& name, VisionAttentionCapture* capture);

  torch::nn::ModuleList layers{nullptr};
  nn::LayerHooks* layer_hooks = nullptr;  // around every layer (nn/layer_hooks.h)
};
TORCH_MODULE(MllamaVisionEncoder);

// One learned vector per tile for each aspect-ratio id, added to every patch of the tile,
// scaled by tanh(gate).
class TileEmbeddingImpl : public torch::nn::Module {
 public:
  TileEmbeddingImpl(const io::config::MllamaVisionConfig& c);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& aspect_ratio_ids);

  nn::Embedding embedding{nullptr};
  at::Tensor gate;

 private:
  int64_t tiles_, hidden_;
};
TORCH_MODULE(TileEmbedding);

// Patch positions (weighted 1 - tanh(gate)) plus a per-aspect-ratio embedding for every
// (tile, patch) (weighted tanh(gate)).
class TilePositionEmbeddingImpl : public torch::nn::Module {
 public:
  TilePositionEmbeddingImpl(const io::config::MllamaVisionConfig& c);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& aspect_ratio_ids);

  at::Tensor embedding, gate;
  nn::Embedding tile_embedding{nullptr};

 private:
  int64_t tiles_, patches_, hidden_;
};
TORCH_MODULE(TilePositionEmbedding);

class MllamaVisionModelImpl : public torch::nn::Module {
 public:
  explicit MllamaVisionModelImpl(const io::config::MllamaVisionConfig& c);
  // pixel_values [B, media, tiles, 3, H, W]; aspect_ratio_ids [B, media] (1-based, 0 = none);
  // aspect_ratio_mask [B, media, tiles] (1 for real tiles). Returns
  // [B, media, tiles, patches + 1, vision_output_dim].
  at::Tensor forward(const at::Tensor& pixel_values, const at::Tensor& aspect_ratio_ids,
                     const at::Tensor& aspect_ratio_mask,
                     VisionAttentionCapture* capture = nullptr);
  const io::config::MllamaVisionConfig& config() const { return config_; }
  int64_t patches_per_tile() const;  // including the class token
  // Hooks around every encoder layer of both encoders (nn/layer_hooks.h); nullptr: none.
  void set_layer_hooks(nn::LayerHooks* hooks) {
    transformer->layer_hooks = hooks;
    global_transformer->layer_hooks = hooks;
  }

  torch::nn::Conv2d patch_embedding{nullptr};
  at::Tensor class_embedding;
  TilePositionEmbedding gated_positional_embedding{nullptr};
  TileEmbedding pre_tile_positional_embedding{nullptr}, post_tile_positional_embedding{nullptr};
  torch::nn::LayerNorm layernorm_pre{nullptr}, layernorm_post{nullptr};
  MllamaVisionEncoder transformer{nullptr}, global_transformer{nullptr};

 private:
  io::config::MllamaVisionConfig config_;
};
TORCH_MODULE(MllamaVisionModel);

// The additive mask over [tiles × padded patches] positions that transformers builds from the
// aspect-ratio mask: -max where both query and key are padding (a padding tile, or the patches
// added to reach a multiple of 8), 0 elsewhere. [B·media, 1, L, L].
at::Tensor tile_attention_mask(const at::Tensor& aspect_ratio_mask, int64_t patches,
                               int64_t padded_patches, at::ScalarType dtype);

}  // namespace lavender::vlm
