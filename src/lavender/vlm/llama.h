// The Llama decoder (transformers LlamaModel) as VLMs embed it: token embeddings, pre-norm
// decoder layers of grouped-query self-attention with RoPE and a SwiGLU MLP, a final RMSNorm.
// Module keys follow the checkpoint (`embed_tokens`, `layers.N.self_attn.q_proj`,
// `layers.N.input_layernorm`, `norm`), so a LLaVA checkpoint loads it under
// `model.language_model.`. The pieces (attention, decoder layer, masks, position ids) are public
// so that other Llama-based decoders (mllama's text model) can assemble them differently.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include "lavender/nn/embedding.h"

#include <vector>

#include "lavender/io/config/llama.h"
#include "lavender/nn/attention.h"
#include "lavender/nn/layer_hooks.h"
#include "lavender/nn/linear.h"
#include "lavender/nn/llama_mlp.h"
#include "lavender/nn/parallel_attention.h"
#include "lavender/nn/rms_norm.h"
#include "lavender/nn/rope.h"
#include "lavender/vlm/kv_cache.h"

namespace lavender::vlm {

// Additive attention mask [B, 1, Tq, Tk] for queries that are the last Tq of Tk positions:
// causal, plus padding from `padding_mask` ([B, Tk], nonzero = real token; undefined = none,
// giving [1, 1, Tq, Tk]). Masked entries hold the dtype's lowest finite value, as transformers'
// eager path does, so a row with nothing to attend to (a left-padding query) stays finite.
at::Tensor causal_padding_mask(const at::Tensor& padding_mask, int64_t tq, int64_t tk,
                               const at::TensorOptions& options);

// Position ids from a padding mask [B, T] as transformers' generate() makes them: the running
// count of real tokens minus one, and 1 at padded positions. For left padding this starts every
// row's first real token at 0; for right padding it equals arange.
at::Tensor position_ids_from_mask(const at::Tensor& padding_mask);

// Position ids [B, T] for T new tokens after `past` cached ones when the caller gives none:
// past + arange(T), as transformers' forward does.
at::Tensor default_position_ids(int64_t batch, int64_t past, int64_t t,
                                const at::TensorOptions& options);

class LlamaAttentionImpl : public torch::nn::Module {
 public:
  explicit LlamaAttentionImpl(const io::config::LlamaConfig& c);
  // x [B, T, hidden]; cos/sin [B, T, head_dim]; mask additive [B|1, 1, T, Tk] or undefined.
  // With `cache`, this step's keys/values are appended and attention covers all cached ones.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                     const at::Tensor& mask, LayerKvCache* cache = nullptr,
                     nn::AttentionCapture* capture = nullptr);

  // Adds learned parallel projections (nn/parallel_attention.h): from then on a capture returns
  // their attention instead of the pretrained one. Idempotent.
  void enable_parallel_attention();

  nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  nn::ParallelProjections parallel_attn{nullptr};  // null unless enabled

 private:
  int64_t heads_, kv_heads_, head_dim_;
  double scale_;
};
TORCH_MODULE(LlamaAttention);

class LlamaDecoderLayerImpl : public torch::nn::Module {
 public:
  explicit LlamaDecoderLayerImpl(const io::config::LlamaConfig& c);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                     const at::Tensor& mask, LayerKvCache* cache = nullptr,
                     nn::AttentionCapture* capture = nullptr);

  LlamaAttention self_attn{nullptr};
  nn::LlamaMlp mlp{nullptr};
  nn::RmsNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(LlamaDecoderLayer);

struct LlamaForwardOptions {
  // [B, past + T] padding mask over cached and new positions (1 = real token); undefined: none.
  at::Tensor attention_mask;
  // [B, T]; undefined: past + arange(T), as transformers' forward does.
  at::Tensor position_ids;
  KvCache* cache = nullptr;
  // Empty, or one entry per layer (nullptr where nothing is captured): layers with a capture
  // return the probabilities of the block it asks for; the others take the fast path.
  std::vector<nn::AttentionCapture*> captures;
  // attention_mask pads only at the ends of rows (as training collators do): the layers that
  // capture nothing then need no mask at all, only causality (what fused kernels such as
  // FlashAttention take), since a real token never sees the padding after it. Padded rows' outputs
  // differ; no loss reads them.
  bool right_padded = false;
};

class LlamaModelImpl : public torch::nn::Module {
 public:
  explicit LlamaModelImpl(const io::config::LlamaConfig& c);
  at::Tensor embed(const at::Tensor& input_ids) { return embed_tokens(input_ids); }
  // inputs_embeds [B, T, hidden] → last hidden state after the final norm [B, T, hidden].
  at::Tensor forward(const at::Tensor& inputs_embeds, const LlamaForwardOptions& options = {});
  size_t num_layers() const { return layers->size(); }
  KvCache make_cache() const { return KvCache(layers->size()); }
  const io::config::LlamaConfig& config() const { return config_; }
  const nn::RotaryEmbedding& rotary() const { return rotary_; }
  // In training mode, recompute each decoder layer's activations during backward instead of
  // keeping them (nn/checkpoint.h). Off by default.
  void set_gradient_checkpointing(bool on) { gradient_checkpointing_ = on; }
  // Hooks around every decoder layer (nn/layer_hooks.h); nullptr: none.
  void set_layer_hooks(nn::LayerHooks* hooks) { layer_hooks_ = hooks; }

  nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  nn::RmsNorm norm{nullptr};

 private:
  io::config::LlamaConfig config_;
  nn::RotaryEmbedding rotary_;
  bool gradient_checkpointing_ = false;
  nn::LayerHooks* layer_hooks_ = nullptr;
};
TORCH_MODULE(LlamaModel);

}  // namespace lavender::vlm
