#include "lavender/nn/clip_encoder.h"

#include <torch/torch.h>

#include <cmath>

#include "lavender/nn/activations.h"
#include "lavender/util/error.h"

namespace lavender::nn {

ClipAttentionImpl::ClipAttentionImpl(int64_t hidden, int64_t heads)
    : heads_(heads), head_dim_(hidden / heads) {
  if (heads <= 0 || hidden % heads != 0)
    throw Error("CLIP attention: hidden size " + std::to_string(hidden) + " is not divisible by " +
                std::to_string(heads) + " heads");
  q_proj = register_module("q_proj", Linear(hidden, hidden));
  k_proj = register_module("k_proj", Linear(hidden, hidden));
  v_proj = register_module("v_proj", Linear(hidden, hidden));
  out_proj = register_module("out_proj", Linear(hidden, hidden));
}

at::Tensor ClipAttentionImpl::forward(const at::Tensor& x, const at::Tensor& mask, bool causal,
                                      AttentionCapture* capture) {
  const int64_t b = x.size(0), t = x.size(1);
  auto split = [&](const at::Tensor& y) {
    return y.view({b, t, heads_, head_dim_}).transpose(1, 2);
  };
  at::Tensor out = attention(split(q_proj(x)), split(k_proj(x)), split(v_proj(x)), mask, causal,
                             1.0 / std::sqrt(static_cast<double>(head_dim_)), capture);
  return out_proj(out.transpose(1, 2).reshape({b, t, heads_ * head_dim_}));
}

ClipMlpImpl::ClipMlpImpl(int64_t hidden, int64_t intermediate, std::string act)
    : act_(std::move(act)) {
  check_activation(act_);
  fc1 = register_module("fc1", Linear(hidden, intermediate));
  fc2 = register_module("fc2", Linear(intermediate, hidden));
}

at::Tensor ClipMlpImpl::forward(const at::Tensor& x) {
  return fc2(activate(act_, fc1(x)));
}

ClipEncoderLayerImpl::ClipEncoderLayerImpl(const ClipEncoderOptions& o) {
  auto norm = torch::nn::LayerNormOptions({o.hidden_size}).eps(o.layer_norm_eps);
  self_attn = register_module("self_attn", ClipAttention(o.hidden_size, o.num_heads));
  layer_norm1 = register_module("layer_norm1", torch::nn::LayerNorm(norm));
  mlp = register_module("mlp", ClipMlp(o.hidden_size, o.intermediate_size, o.hidden_act));
  layer_norm2 = register_module("layer_norm2", torch::nn::LayerNorm(norm));
}

at::Tensor ClipEncoderLayerImpl::forward(const at::Tensor& x, const at::Tensor& mask, bool causal,
                                         AttentionCapture* capture) {
  at::Tensor h = x + self_attn(layer_norm1(x), mask, causal, capture);
  return h + mlp(layer_norm2(h));
}

ClipEncoderImpl::ClipEncoderImpl(const ClipEncoderOptions& o) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.num_layers; ++i) layers->push_back(ClipEncoderLayer(o));
}

std::vector<at::Tensor> ClipEncoderImpl::forward(const at::Tensor& x, const at::Tensor& mask,
                                                 bool causal, bool all_hidden_states,
                                                 const std::vector<AttentionCapture*>& captures) {
  if (!captures.empty() && captures.size() != layers->size())
    throw Error("CLIP encoder: need one capture slot per layer");
  std::vector<at::Tensor> states;
  if (all_hidden_states) states.push_back(x);
  at::Tensor h = x;
  for (size_t i = 0; i < layers->size(); ++i) {
    h = layers[i]->as<ClipEncoderLayer>()->forward(h, mask, causal,
                                                   captures.empty() ? nullptr : captures[i]);
    if (all_hidden_states) states.push_back(h);
  }
  if (!all_hidden_states) states.push_back(h);
  return states;
}

}  // namespace lavender::nn
