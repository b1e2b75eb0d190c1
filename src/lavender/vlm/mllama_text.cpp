#include "lavender/vlm/mllama_text.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "lavender/nn/checkpoint.h"
#include "lavender/util/error.h"
#include "lavender/vlm/llama.h"

namespace lavender::vlm {
namespace {

nn::Linear linear(int64_t in, int64_t out) {
  return nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
}

}  // namespace

io::config::LlamaConfig llama_config_of(const io::config::MllamaTextConfig& c) {
  io::config::LlamaConfig l;
  l.vocab_size = c.vocab_size;
  l.hidden_size = c.hidden_size;
  l.intermediate_size = c.intermediate_size;
  l.num_hidden_layers = c.num_hidden_layers;
  l.num_attention_heads = c.num_attention_heads;
  l.num_key_value_heads = c.num_key_value_heads;
  l.head_dim = c.head_dim;
  l.hidden_act = c.hidden_act;
  l.max_position_embeddings = c.max_position_embeddings;
  l.rms_norm_eps = c.rms_norm_eps;
  l.rope = c.rope;
  l.tie_word_embeddings = c.tie_word_embeddings;
  l.bos_token_id = c.bos_token_id;
  l.eos_token_ids = c.eos_token_ids;
  l.pad_token_id = c.pad_token_id;
  return l;
}

std::pair<at::Tensor, at::Tensor> prepare_cross_attention_mask(const at::Tensor& tile_mask,
                                                               int64_t patches_per_tile,
                                                               at::ScalarType dtype) {
  if (tile_mask.dim() != 4)
    throw Error("mllama: cross_attention_mask must be [batch, tokens, images, tiles]");
  const int64_t b = tile_mask.size(0), t = tile_mask.size(1);
  at::Tensor allowed = tile_mask.repeat_interleave(patches_per_tile, 3).reshape({b, 1, t, -1}) != 0;
  at::Tensor mask = torch::zeros(allowed.sizes(), tile_mask.options().dtype(dtype))
                        .masked_fill(allowed.logical_not(), nn::lowest_finite(dtype));
  at::Tensor row = allowed.any(-1, /*keepdim=*/true).to(dtype);
  return {mask * row, row};
}

bool MllamaCache::has_image_kv() const {
  return std::any_of(cross.begin(), cross.end(), [](const CrossKv& kv) { return kv.k.defined(); });
}

MllamaCrossAttentionImpl::MllamaCrossAttentionImpl(const io::config::MllamaTextConfig& c)
    : heads_(c.num_attention_heads), kv_heads_(c.num_key_value_heads), head_dim_(c.head_dim) {
  q_proj = register_module("q_proj", linear(c.hidden_size, heads_ * head_dim_));
  k_proj = register_module("k_proj", linear(c.hidden_size, kv_heads_ * head_dim_));
  v_proj = register_module("v_proj", linear(c.hidden_size, kv_heads_ * head_dim_));
  o_proj = register_module("o_proj", linear(heads_ * head_dim_, c.hidden_size));
  q_norm = register_module("q_norm", nn::RmsNorm(head_dim_, c.rms_norm_eps));
  k_norm = register_module("k_norm", nn::RmsNorm(head_dim_, c.rms_norm_eps));
}

at::Tensor MllamaCrossAttentionImpl::forward(const at::Tensor& x, const at::Tensor& image_states,
                                             const at::Tensor& mask, CrossKv* kv,
                                             nn::AttentionCapture* capture) {
  const int64_t b = x.size(0), t = x.size(1);
  at::Tensor q = q_norm(q_proj(x).view({b, t, heads_, head_dim_}).transpose(1, 2));
  at::Tensor k, v;
  if (image_states.defined()) {
    const int64_t s = image_states.size(1);
    k = k_norm(k_proj(image_states).view({b, s, kv_heads_, head_dim_}).transpose(1, 2));
    v = v_proj(image_states).view({b, s, kv_heads_, head_dim_}).transpose(1, 2);
    if (kv) *kv = {k, v};
  } else if (kv && kv->k.defined()) {
    k = kv->k, v = kv->v;
  } else {
    throw Error("mllama cross-attention: no image features and no cached ones");
  }
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim_));
  const bool parallel = capture && parallel_attn;
  at::Tensor out =
      nn::attention(q, k, v, mask, /*causal=*/false, scale, parallel ? nullptr : capture);
  if (parallel) {
    if (!image_states.defined())
      throw Error("mllama cross-attention: parallel attention needs the image features");
    const int64_t s = image_states.size(1);
    at::Tensor qd = q_norm(parallel_attn->q(x).view({b, t, heads_, head_dim_}).transpose(1, 2));
    at::Tensor kd =
        k_norm(parallel_attn->k(image_states).view({b, s, heads_, head_dim_}).transpose(1, 2));
    capture->probs = nn::parallel_block_probs(qd, kd, mask, scale, *capture);
  }
  return o_proj(out.transpose(1, 2).reshape({b, t, heads_ * head_dim_}));
}

void MllamaCrossAttentionImpl::enable_parallel_attention() {
  if (parallel_attn) return;
  parallel_attn = register_module(
      "parallel_attn", nn::ParallelProjections(q_proj, k_proj, heads_, kv_heads_, head_dim_));
}

MllamaCrossAttentionDecoderLayerImpl::MllamaCrossAttentionDecoderLayerImpl(
    const io::config::MllamaTextConfig& c) {
  cross_attn = register_module("cross_attn", MllamaCrossAttention(c));
  input_layernorm = register_module("input_layernorm", nn::RmsNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm =
      register_module("post_attention_layernorm", nn::RmsNorm(c.hidden_size, c.rms_norm_eps));
  mlp = register_module("mlp", nn::LlamaMlp(c.hidden_size, c.intermediate_size, c.hidden_act));
  cross_attn_attn_gate = register_parameter("cross_attn_attn_gate", torch::zeros({1}));
  cross_attn_mlp_gate = register_parameter("cross_attn_mlp_gate", torch::zeros({1}));
}

at::Tensor MllamaCrossAttentionDecoderLayerImpl::forward(const at::Tensor& x,
                                                         const at::Tensor& image_states,
                                                         const at::Tensor& mask,
                                                         const at::Tensor& row_mask, CrossKv* kv,
                                                         nn::AttentionCapture* capture) {
  at::Tensor h = x + cross_attn_attn_gate.tanh() *
                         cross_attn(input_layernorm(x), image_states, mask, kv, capture);
  at::Tensor ffn = mlp(post_attention_layernorm(h));
  // A text row that may see no image keeps only its residual from this MLP.
  if (row_mask.defined()) ffn = ffn * row_mask.select(1, 0);
  return h + cross_attn_mlp_gate.tanh() * ffn;
}

MllamaTextModelImpl::MllamaTextModelImpl(const io::config::MllamaTextConfig& c)
    : config_(c), rotary_(c.rope, c.head_dim) {
  // transformers gives the embedding 8 rows beyond the vocabulary (image and reserved tokens).
  embed_tokens = register_module("embed_tokens", nn::Embedding(c.vocab_size + 8, c.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  const auto llama = llama_config_of(c);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    if (is_cross_attention_layer(static_cast<size_t>(i)))
      layers->push_back(MllamaCrossAttentionDecoderLayer(c));
    else
      layers->push_back(LlamaDecoderLayer(llama));
  }
  norm = register_module("norm", nn::RmsNorm(c.hidden_size, c.rms_norm_eps));
}

bool MllamaTextModelImpl::is_cross_attention_layer(size_t i) const {
  const auto& cross = config_.cross_attention_layers;
  return std::find(cross.begin(), cross.end(), static_cast<int64_t>(i)) != cross.end();
}

at::Tensor MllamaTextModelImpl::forward(const at::Tensor& inputs_embeds,
                                        const MllamaTextOptions& o) {
  if (inputs_embeds.dim() != 3 || inputs_embeds.size(2) != config_.hidden_size)
    throw Error("mllama text: inputs_embeds must be [batch, tokens, " +
                std::to_string(config_.hidden_size) + "]");
  if (!o.captures.empty() && o.captures.size() != layers->size())
    throw Error("mllama text: need one capture slot per layer (" + std::to_string(layers->size()) +
                ")");
  const int64_t b = inputs_embeds.size(0), t = inputs_embeds.size(1);
  const int64_t past = o.cache ? o.cache->length() : 0;
  at::Tensor position_ids = o.position_ids.defined()
                                ? o.position_ids
                                : default_position_ids(b, past, t, inputs_embeds.options());
  auto [cos, sin] = rotary_.cos_sin(position_ids, inputs_embeds.scalar_type());
  at::Tensor mask = causal_padding_mask(o.attention_mask, t, past + t, inputs_embeds.options());
  const bool images = o.image_states.defined() || (o.cache && o.cache->has_image_kv());
  if (images && !o.cross_mask.defined())
    throw Error("mllama text: image features need a cross-attention mask");

  at::Tensor h = inputs_embeds;
  const bool recompute = gradient_checkpointing_ && is_training() && !o.cache;
  const bool causal_only = o.right_padded && !o.cache;  // see LlamaForwardOptions
  for (size_t i = 0; i < layers->size(); ++i) {
    nn::AttentionCapture* capture = o.captures.empty() ? nullptr : o.captures[i];
    const nn::HookedLayer hooked{layer_hooks_, layers[i].get()};
    if (is_cross_attention_layer(i)) {
      if (!images) continue;
      auto layer = layers[i]->as<MllamaCrossAttentionDecoderLayer>();
      at::Tensor cross = o.cross_mask.to(h.scalar_type()), rows = o.row_mask.to(h.scalar_type());
      if (recompute) {
        h = nn::checkpoint_layer(
            [layer, cross, rows](const std::vector<at::Tensor>& in, nn::AttentionCapture* slot) {
              return layer->forward(in[0], in[1], cross, rows, nullptr, slot);
            },
            {h, o.image_states}, capture, hooked);
      } else {
        nn::WholeLayer whole(hooked, h);
        h = layer->forward(h, o.image_states, cross, rows, o.cache ? &o.cache->cross[i] : nullptr,
                           capture);
      }
    } else {
      auto layer = layers[i]->as<LlamaDecoderLayer>();
      const at::Tensor layer_mask = causal_only && !capture ? at::Tensor() : mask;
      if (recompute) {
        h = nn::checkpoint_layer(
            [layer, cos = cos, sin = sin, layer_mask](const std::vector<at::Tensor>& in,
                                                      nn::AttentionCapture* slot) {
              return layer->forward(in[0], cos, sin, layer_mask, nullptr, slot);
            },
            {h}, capture, hooked);
      } else {
        nn::WholeLayer whole(hooked, h);
        h = layer->forward(h, cos, sin, layer_mask, o.cache ? &o.cache->self.layer(i) : nullptr,
                           capture);
      }
    }
  }
  return norm(h);
}

}  // namespace lavender::vlm
