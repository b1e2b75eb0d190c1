#include "lavender/vlm/llama.h"

#include <torch/torch.h>

#include <cmath>

#include "lavender/nn/checkpoint.h"
#include "lavender/util/error.h"

namespace lavender::vlm {

at::Tensor causal_padding_mask(const at::Tensor& padding_mask, int64_t tq, int64_t tk,
                               const at::TensorOptions& options) {
  if (tq > tk) throw Error("attention mask: more queries than keys");
  // Query i is position tk - tq + i and may see keys up to there.
  at::Tensor allowed =
      torch::ones({tq, tk}, options.dtype(torch::kBool)).tril(tk - tq).view({1, 1, tq, tk});
  if (padding_mask.defined()) {
    if (padding_mask.dim() != 2 || padding_mask.size(1) != tk)
      throw Error("attention mask: padding mask must be [batch, " + std::to_string(tk) + "], got " +
                  std::to_string(padding_mask.dim()) + " dims");
    allowed = allowed & (padding_mask.to(options.device()) != 0).view({-1, 1, 1, tk});
  }
  return torch::zeros(allowed.sizes(), options)
      .masked_fill(allowed.logical_not(),
                   nn::lowest_finite(c10::typeMetaToScalarType(options.dtype())));
}

at::Tensor position_ids_from_mask(const at::Tensor& padding_mask) {
  at::Tensor m = padding_mask.to(torch::kLong);
  return (m.cumsum(-1) - 1).masked_fill(m == 0, 1);
}

at::Tensor default_position_ids(int64_t batch, int64_t past, int64_t t,
                                const at::TensorOptions& options) {
  return torch::arange(past, past + t, options.dtype(torch::kLong)).unsqueeze(0).expand({batch, t});
}

LlamaAttentionImpl::LlamaAttentionImpl(const io::config::LlamaConfig& c)
    : heads_(c.num_attention_heads),
      kv_heads_(c.num_key_value_heads),
      head_dim_(c.head_dim),
      scale_(1.0 / std::sqrt(static_cast<double>(c.head_dim))) {
  auto linear = [&](int64_t in, int64_t out) {
    return nn::Linear(torch::nn::LinearOptions(in, out).bias(c.attention_bias));
  };
  q_proj = register_module("q_proj", linear(c.hidden_size, heads_ * head_dim_));
  k_proj = register_module("k_proj", linear(c.hidden_size, kv_heads_ * head_dim_));
  v_proj = register_module("v_proj", linear(c.hidden_size, kv_heads_ * head_dim_));
  o_proj = register_module("o_proj", linear(heads_ * head_dim_, c.hidden_size));
}

at::Tensor LlamaAttentionImpl::forward(const at::Tensor& x, const at::Tensor& cos,
                                       const at::Tensor& sin, const at::Tensor& mask,
                                       LayerKvCache* cache, nn::AttentionCapture* capture) {
  const int64_t b = x.size(0), t = x.size(1);
  auto split = [&](const at::Tensor& y, int64_t heads) {
    return y.view({b, t, heads, head_dim_}).transpose(1, 2);
  };
  at::Tensor q = nn::apply_rotary(split(q_proj(x), heads_), cos, sin);
  at::Tensor k = nn::apply_rotary(split(k_proj(x), kv_heads_), cos, sin);
  at::Tensor v = split(v_proj(x), kv_heads_);
  if (cache) std::tie(k, v) = cache->append(k, v);
  // A mask holds the causal part (aligned to the cache); without one attention is plain causal.
  const bool parallel = capture && parallel_attn;
  at::Tensor out = nn::attention(q, k, v, mask, /*causal=*/!mask.defined(), scale_,
                                 parallel ? nullptr : capture);
  if (parallel) {
    if (cache) throw Error("Llama: parallel attention is a training feature (no KV cache)");
    at::Tensor qd = nn::apply_rotary(split(parallel_attn->q(x), heads_), cos, sin);
    at::Tensor kd = nn::apply_rotary(split(parallel_attn->k(x), heads_), cos, sin);
    capture->probs = nn::parallel_block_probs(qd, kd, mask, scale_, *capture);
  }
  return o_proj(out.transpose(1, 2).reshape({b, t, heads_ * head_dim_}));
}

void LlamaAttentionImpl::enable_parallel_attention() {
  if (parallel_attn) return;
  parallel_attn = register_module(
      "parallel_attn", nn::ParallelProjections(q_proj, k_proj, heads_, kv_heads_, head_dim_));
}

LlamaDecoderLayerImpl::LlamaDecoderLayerImpl(const io::config::LlamaConfig& c) {
  self_attn = register_module("self_attn", LlamaAttention(c));
  mlp = register_module("mlp",
                        nn::LlamaMlp(c.hidden_size, c.intermediate_size, c.hidden_act, c.mlp_bias));
  input_layernorm = register_module("input_layernorm", nn::RmsNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm =
      register_module("post_attention_layernorm", nn::RmsNorm(c.hidden_size, c.rms_norm_eps));
}

at::Tensor LlamaDecoderLayerImpl::forward(const at::Tensor& x, const at::Tensor& cos,
                                          const at::Tensor& sin, const at::Tensor& mask,
                                          LayerKvCache* cache, nn::AttentionCapture* capture) {
  at::Tensor h = x + self_attn(input_layernorm(x), cos, sin, mask, cache, capture);
  return h + mlp(post_attention_layernorm(h));
}

LlamaModelImpl::LlamaModelImpl(const io::config::LlamaConfig& c)
    : config_(c), rotary_(c.rope, c.head_dim, c.max_position_embeddings) {
  embed_tokens = register_module("embed_tokens", nn::Embedding(c.vocab_size, c.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(LlamaDecoderLayer(c));
  norm = register_module("norm", nn::RmsNorm(c.hidden_size, c.rms_norm_eps));
}

at::Tensor LlamaModelImpl::forward(const at::Tensor& inputs_embeds, const LlamaForwardOptions& o) {
  if (inputs_embeds.dim() != 3 || inputs_embeds.size(2) != config_.hidden_size)
    throw Error("Llama: inputs_embeds must be [batch, tokens, " +
                std::to_string(config_.hidden_size) + "]");
  if (!o.captures.empty() && o.captures.size() != layers->size())
    throw Error("Llama: need one capture slot per layer (" + std::to_string(layers->size()) + ")");
  if (o.cache && o.cache->num_layers() != layers->size())
    throw Error("Llama: KV cache has " + std::to_string(o.cache->num_layers()) +
                " layers, the model " + std::to_string(layers->size()));
  const int64_t b = inputs_embeds.size(0), t = inputs_embeds.size(1);
  const int64_t past = o.cache ? o.cache->length() : 0;

  at::Tensor position_ids = o.position_ids.defined()
                                ? o.position_ids
                                : default_position_ids(b, past, t, inputs_embeds.options());
  if (position_ids.dim() != 2 || position_ids.size(1) != t)
    throw Error("Llama: position_ids must be [batch, " + std::to_string(t) + "]");
  auto [cos, sin] = rotary_.cos_sin(position_ids, inputs_embeds.scalar_type());
  at::Tensor mask = causal_padding_mask(o.attention_mask, t, past + t, inputs_embeds.options());

  at::Tensor h = inputs_embeds;
  const bool recompute = gradient_checkpointing_ && is_training() && !o.cache;
  // Right-padded rows without a cache: real tokens never see the padding after them, so layers
  // that capture nothing attend causally without the dense mask (fused kernels can run).
  const bool causal_only = o.right_padded && !o.cache;
  for (size_t i = 0; i < layers->size(); ++i) {
    auto layer = layers[i]->as<LlamaDecoderLayer>();
    nn::AttentionCapture* capture = o.captures.empty() ? nullptr : o.captures[i];
    const nn::HookedLayer hooked{layer_hooks_, layer};
    const at::Tensor layer_mask = causal_only && !capture ? at::Tensor() : mask;
    if (!recompute) {
      nn::WholeLayer whole(hooked, h);
      h = layer->forward(h, cos, sin, layer_mask, o.cache ? &o.cache->layer(i) : nullptr, capture);
      continue;
    }
    h = nn::checkpoint_layer(
        [layer, cos = cos, sin = sin, layer_mask](const std::vector<at::Tensor>& in,
                                                  nn::AttentionCapture* slot) {
          return layer->forward(in[0], cos, sin, layer_mask, nullptr, slot);
        },
        {h}, capture, hooked);
  }
  return norm(h);
}

}  // namespace lavender::vlm
