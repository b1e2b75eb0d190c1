// The mllama (Llama 3.2 Vision) text model: a Llama decoder in which the layers listed in
// `cross_attention_layers` are cross-attention layers. Those read the projected image features
// (keys/values with per-head RMS norms, no RoPE) through a per-token mask that says which images'
// tiles each text token may see, and add their attention and MLP outputs scaled by learned tanh
// gates. Text rows that may see no tile still attend (uniformly, as in transformers) but their
// MLP output is zeroed. Module keys follow the checkpoint (`layers.N.cross_attn.q_norm`,
// `layers.N.cross_attn_attn_gate`, ...).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include "lavender/nn/embedding.h"

#include <utility>
#include <vector>

#include "lavender/io/config/mllama.h"
#include "lavender/nn/attention.h"
#include "lavender/nn/layer_hooks.h"
#include "lavender/nn/linear.h"
#include "lavender/nn/llama_mlp.h"
#include "lavender/nn/parallel_attention.h"
#include "lavender/nn/rms_norm.h"
#include "lavender/nn/rope.h"
#include "lavender/vlm/kv_cache.h"

namespace lavender::vlm {

// The Llama config of the self-attention layers (sizes, RoPE, norms) of an mllama text config.
io::config::LlamaConfig llama_config_of(const io::config::MllamaTextConfig& c);

// transformers' _prepare_cross_attention_mask: from the per-token tile mask
// [B, T, images, tiles] (1 = the token may see that tile) to an additive mask
// [B, 1, T, images·tiles·patches] (0 or the dtype's lowest) and the row mask [B, 1, T, 1]
// (0 where a token may see no tile at all; those rows' additive mask is all 0).
std::pair<at::Tensor, at::Tensor> prepare_cross_attention_mask(const at::Tensor& tile_mask,
                                                               int64_t patches_per_tile,
                                                               at::ScalarType dtype);

// Keys and values of one cross-attention layer, computed once from the image features and kept
// for the decode steps that follow.
struct CrossKv {
  at::Tensor k, v;  // [B, kv_heads, S, head_dim]
};

class MllamaCrossAttentionImpl : public torch::nn::Module {
 public:
  explicit MllamaCrossAttentionImpl(const io::config::MllamaTextConfig& c);
  // x [B, T, hidden]; image_states [B, S, hidden] (undefined: take k/v from `kv`); mask additive
  // [B, 1, T, S]. When `kv` is given and image_states are, the new k/v are stored there.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& image_states, const at::Tensor& mask,
                     CrossKv* kv = nullptr, nn::AttentionCapture* capture = nullptr);

  // Adds learned parallel projections (nn/parallel_attention.h), normed like the pretrained
  // ones: from then on a capture returns their attention. Idempotent.
  void enable_parallel_attention();

  nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  nn::RmsNorm q_norm{nullptr}, k_norm{nullptr};
  nn::ParallelProjections parallel_attn{nullptr};  // null unless enabled

 private:
  int64_t heads_, kv_heads_, head_dim_;
};
TORCH_MODULE(MllamaCrossAttention);

class MllamaCrossAttentionDecoderLayerImpl : public torch::nn::Module {
 public:
  explicit MllamaCrossAttentionDecoderLayerImpl(const io::config::MllamaTextConfig& c);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& image_states, const at::Tensor& mask,
                     const at::Tensor& row_mask, CrossKv* kv = nullptr,
                     nn::AttentionCapture* capture = nullptr);

  MllamaCrossAttention cross_attn{nullptr};
  nn::RmsNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  nn::LlamaMlp mlp{nullptr};
  at::Tensor cross_attn_attn_gate, cross_attn_mlp_gate;
};
TORCH_MODULE(MllamaCrossAttentionDecoderLayer);

// Self-attention KV cache for every layer plus the cross-attention k/v of the cross layers.
struct MllamaCache {
  explicit MllamaCache(size_t layers = 0) : self(layers), cross(layers) {}
  KvCache self;
  std::vector<CrossKv> cross;  // used at cross-attention layer indices
  int64_t length() const { return self.length(); }
  bool has_image_kv() const;
};

struct MllamaTextOptions {
  at::Tensor image_states;    // [B, S, hidden] projected image features; undefined: none
  at::Tensor cross_mask;      // [B, 1, T, S] additive (prepare_cross_attention_mask)
  at::Tensor row_mask;        // [B, 1, T, 1]
  at::Tensor attention_mask;  // [B, past + T] padding mask (1 = real); undefined: none
  at::Tensor position_ids;    // [B, T]; undefined: past + arange(T)
  MllamaCache* cache = nullptr;
  // Empty, or one per layer (nullptr where nothing is asked): self-attention layers give
  // [B, heads, T, past + T], cross-attention layers [B, heads, T, S].
  std::vector<nn::AttentionCapture*> captures;
  // As LlamaForwardOptions::right_padded, for the self-attention layers.
  bool right_padded = false;
};

class MllamaTextModelImpl : public torch::nn::Module {
 public:
  explicit MllamaTextModelImpl(const io::config::MllamaTextConfig& c);
  at::Tensor embed(const at::Tensor& input_ids) { return embed_tokens(input_ids); }
  // inputs_embeds [B, T, hidden] → final-norm hidden states [B, T, hidden]. Cross-attention
  // layers are skipped when there are neither image states nor cached image k/v.
  at::Tensor forward(const at::Tensor& inputs_embeds, const MllamaTextOptions& options);
  bool is_cross_attention_layer(size_t i) const;
  // In training mode, recompute each layer's activations during backward (nn/checkpoint.h).
  void set_gradient_checkpointing(bool on) { gradient_checkpointing_ = on; }
  // Hooks around every decoder layer (nn/layer_hooks.h); nullptr: none.
  void set_layer_hooks(nn::LayerHooks* hooks) { layer_hooks_ = hooks; }
  MllamaCache make_cache() const { return MllamaCache(layers->size()); }
  const io::config::MllamaTextConfig& config() const { return config_; }

  nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  nn::RmsNorm norm{nullptr};

 private:
  io::config::MllamaTextConfig config_;
  nn::RotaryEmbedding rotary_;
  bool gradient_checkpointing_ = false;
  nn::LayerHooks* layer_hooks_ = nullptr;
};
TORCH_MODULE(MllamaTextModel);

}  // namespace lavender::vlm
