#include "lavender/dm/transformer_2d.h"

#include <torch/torch.h>

#include "lavender/nn/attention.h"
#include "lavender/util/error.h"

namespace lavender::dm {
namespace {

torch::nn::Linear linear(int64_t in, int64_t out, bool bias) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

// A 1×1 conv or a Linear as a matmul over the last dimension of [B, N, C].
at::Tensor over_channels(const torch::nn::Conv2d& conv, torch::nn::Linear lin,
                         const at::Tensor& x) {
  if (lin) return lin(x);
  return torch::linear(x, conv->weight.flatten(1), conv->bias);
}

}  // namespace

AttentionImpl::AttentionImpl(const AttentionOptions& o) : o_(o) {
  const int64_t inner = o.heads * o.head_dim;
  const int64_t kv_dim = o.context_dim > 0 ? o.context_dim : o.query_dim;
  to_q = register_module("to_q", linear(o.query_dim, inner, o.qkv_bias));
  to_k = register_module("to_k", linear(kv_dim, inner, o.qkv_bias));
  to_v = register_module("to_v", linear(kv_dim, inner, o.qkv_bias));
  out = linear(inner, o.query_dim, true);
  to_out = register_module("to_out", torch::nn::ModuleList(out, torch::nn::Dropout(0.0)));
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, const at::Tensor& context,
                                  at::Tensor* probs) {
  const at::Tensor& kv_input = context.defined() ? context : x;
  const int64_t b = x.size(0), n = x.size(1), t = kv_input.size(1);
  // [B, N, heads·d] → [B, heads, N, d] as strided views; the attention kernels take them as is.
  auto heads = [&](const at::Tensor& y, int64_t len) {
    return y.view({b, len, o_.heads, o_.head_dim}).transpose(1, 2);
  };
  at::Tensor q = heads(to_q(x), n), k = heads(to_k(kv_input), t), v = heads(to_v(kv_input), t);
  const auto dtype = q.scalar_type();
  if (o_.upcast_attention && dtype != at::kFloat) {
    q = q.to(at::kFloat), k = k.to(at::kFloat), v = v.to(at::kFloat);
  }
  nn::AttentionCapture capture;
  const double scale = 1.0 / std::sqrt(static_cast<double>(o_.head_dim));
  at::Tensor h =
      nn::attention(q, k, v, at::Tensor(), /*causal=*/false, scale, probs ? &capture : nullptr);
  if (probs) *probs = capture.probs;
  h = h.to(dtype).transpose(1, 2).reshape({b, n, o_.heads * o_.head_dim});
  return out(h);
}

FeedForwardImpl::FeedForwardImpl(int64_t dim, int64_t inner_dim) {
  // net.0 is diffusers' GEGLU module, whose only parameter is `proj`.
  auto geglu = std::make_shared<torch::nn::Module>("GEGLU");
  proj = geglu->register_module("proj", torch::nn::Linear(dim, 2 * inner_dim));
  out = torch::nn::Linear(inner_dim, dim);
  net = register_module("net", torch::nn::ModuleList(geglu, torch::nn::Dropout(0.0), out));
}

at::Tensor FeedForwardImpl::forward(const at::Tensor& x) {
  auto value_gate = proj(x).chunk(2, -1);
  return out(value_gate[0] * torch::gelu(value_gate[1]));
}

BasicTransformerBlockImpl::BasicTransformerBlockImpl(const TransformerOptions& o, std::string name)
    : only_cross_attention_(o.only_cross_attention), name_(std::move(name)) {
  const int64_t head_dim = o.channels / o.heads;
  auto layer_norm = [&] {
    return torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.channels}).eps(1e-5));
  };
  AttentionOptions a{o.channels, o.only_cross_attention ? o.context_dim : 0,
                     o.heads,    head_dim,
                     false,      o.upcast_attention};
  norm1 = register_module("norm1", layer_norm());
  attn1 = register_module("attn1", Attention(a));
  a.context_dim = o.context_dim;
  norm2 = register_module("norm2", layer_norm());
  attn2 = register_module("attn2", Attention(a));
  norm3 = register_module("norm3", layer_norm());
  ff = register_module("ff", FeedForward(o.channels, 4 * o.channels));
}

at::Tensor BasicTransformerBlockImpl::forward(const at::Tensor& x, const at::Tensor& context,
                                              CrossAttentionCapture* capture) {
  auto probs_of = [&](const char* attn) -> at::Tensor* {
    const std::string path = name_ + "." + attn;
    return capture && capture->layers.count(path) ? &capture->probs[path] : nullptr;
  };
  at::Tensor h = only_cross_attention_ ? attn1(norm1(x), context, probs_of("attn1"))
                                       : attn1(norm1(x), at::Tensor());
  h = h + x;
  h = attn2(norm2(h), context, probs_of("attn2")) + h;
  return ff(norm3(h)) + h;
}

Transformer2DModelImpl::Transformer2DModelImpl(const TransformerOptions& o, const std::string& name)
    : o_(o) {
  if (o.channels % o.heads != 0)
    throw Error(name + ": " + std::to_string(o.channels) + " channels do not split into " +
                std::to_string(o.heads) + " heads");
  norm = register_module(
      "norm", torch::nn::GroupNorm(torch::nn::GroupNormOptions(o.groups, o.channels).eps(1e-6)));
  if (o.use_linear_projection) {
    proj_in_linear = register_module("proj_in", torch::nn::Linear(o.channels, o.channels));
  } else {
    proj_in_conv = register_module("proj_in", torch::nn::Conv2d(o.channels, o.channels, 1));
  }
  transformer_blocks = register_module("transformer_blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.layers; ++i) {
    const std::string block = name + ".transformer_blocks." + std::to_string(i);
    transformer_blocks->push_back(BasicTransformerBlock(o, block));
  }
  if (o.use_linear_projection) {
    proj_out_linear = register_module("proj_out", torch::nn::Linear(o.channels, o.channels));
  } else {
    proj_out_conv = register_module("proj_out", torch::nn::Conv2d(o.channels, o.channels, 1));
  }
}

at::Tensor Transformer2DModelImpl::forward(const at::Tensor& x, const at::Tensor& context,
                                           CrossAttentionCapture* capture) {
  const int64_t b = x.size(0), c = x.size(1), height = x.size(2), width = x.size(3);
  // Tokens [B, H·W, C]; the permute copy is the only layout change per direction.
  at::Tensor h = norm(x).permute({0, 2, 3, 1}).reshape({b, height * width, c});
  h = over_channels(proj_in_conv, proj_in_linear, h);
  for (const auto& m : *transformer_blocks)
    h = m->as<BasicTransformerBlock>()->forward(h, context, capture);
  h = over_channels(proj_out_conv, proj_out_linear, h);
  // Residual first so the sum comes out in the residual's NCHW layout.
  return x + h.view({b, height, width, c}).permute({0, 3, 1, 2});
}

std::vector<std::string> BasicTransformerBlockImpl::cross_attention_names() const {
  if (only_cross_attention_) return {name_ + ".attn1", name_ + ".attn2"};
  return {name_ + ".attn2"};
}

std::vector<std::string> Transformer2DModelImpl::cross_attention_names() const {
  std::vector<std::string> names;
  for (const auto& m : *transformer_blocks)
    for (auto& n : m->as<BasicTransformerBlockImpl>()->cross_attention_names())
      names.push_back(std::move(n));
  return names;
}

}  // namespace lavender::dm
