#include "lavender/vlm/mpt.h"

#include <torch/torch.h>

#include <cmath>

#include "lavender/nn/attention.h"
#include "lavender/nn/checkpoint.h"
#include "lavender/util/error.h"

namespace lavender::vlm {
namespace {

nn::Linear mpt_linear(const io::config::MptConfig& c, int64_t in, int64_t out) {
  return nn::Linear(torch::nn::LinearOptions(in, out).bias(!c.no_bias));
}

nn::LayerNorm mpt_norm(const io::config::MptConfig& c) {
  return nn::LayerNorm(c.d_model, c.layer_norm_eps, !c.no_bias);
}

// MPT's additive bias over `tk` keys: ALiBi measured from the last key (slope · (j − (tk − 1)),
// as MPT builds it; a per-row constant away from the relative form, which softmax ignores), and
// padded keys at the most negative finite value, as MPT masks them.
at::Tensor mpt_attention_bias(const at::Tensor& slopes, const at::Tensor& padding, int64_t tk,
                              const at::TensorOptions& options) {
  at::Tensor distance = torch::arange(1 - tk, 1, options);
  at::Tensor bias = (slopes.to(options).view({1, -1, 1, 1}) * distance.view({1, 1, 1, tk}));
  if (!padding.defined()) return bias;
  if (padding.dim() != 2 || padding.size(1) != tk)
    throw Error("MPT: attention_mask must be [batch, " + std::to_string(tk) + "]");
  at::Tensor pad = (padding.to(options.device()) == 0).view({-1, 1, 1, tk});
  return bias.masked_fill(pad, nn::lowest_finite(c10::typeMetaToScalarType(options.dtype())));
}

}  // namespace

at::Tensor alibi_slopes(int64_t n_heads, double alibi_bias_max, bool power_of_two) {
  int64_t n = n_heads;
  if (power_of_two)
    while ((n & (n - 1)) != 0) n += n & -n;  // up to the next power of two
  at::Tensor m = torch::arange(1, n + 1, torch::kDouble) * (alibi_bias_max / n);
  at::Tensor slopes = torch::pow(2.0, -m);
  if (n != n_heads)
    slopes = torch::cat({slopes.slice(0, 1, n, 2), slopes.slice(0, 0, n, 2)}).slice(0, 0, n_heads);
  return slopes.to(torch::kFloat);
}

std::string mpt_module_key(const std::string& key) {
  static const std::pair<const char*, const char*> renames[] = {
      {".norm_1.", ".ln_1."},
      {".norm_2.", ".ln_2."},
      {".ffn.up_proj.", ".mlp.mlp_up."},
      {".ffn.down_proj.", ".mlp.mlp_down."},
      {"transformer.norm_f.", "transformer.ln_f."}};
  std::string out = key;
  for (const auto& [from, to] : renames) {
    const size_t pos = out.find(from);
    if (pos != std::string::npos) out.replace(pos, std::string(from).size(), to);
  }
  return out;
}

MptAttentionImpl::MptAttentionImpl(const io::config::MptConfig& c)
    : config_(c),
      scale_(c.softmax_scale ? *c.softmax_scale
                             : 1.0 / std::sqrt(static_cast<double>(c.head_dim))) {
  Wqkv = register_module("Wqkv", mpt_linear(c, c.d_model, 3 * c.d_model));
  if (c.attn_qk_ln) {
    q_ln = register_module("q_ln", mpt_norm(c));
    k_ln = register_module("k_ln", mpt_norm(c));
  }
  out_proj = register_module("out_proj", mpt_linear(c, c.d_model, c.d_model));
}

at::Tensor MptAttentionImpl::forward(const at::Tensor& x, const at::Tensor& bias,
                                     LayerKvCache* cache) {
  const int64_t b = x.size(0), t = x.size(1), h = config_.n_heads, d = config_.head_dim;
  at::Tensor qkv = Wqkv(x);
  if (config_.attn_clip_qkv) qkv = qkv.clamp(-*config_.attn_clip_qkv, *config_.attn_clip_qkv);
  auto parts = qkv.chunk(3, -1);
  at::Tensor q = parts[0], k = parts[1], v = parts[2];
  // The norm covers all heads at once (the whole d_model vector), before the split.
  if (q_ln) {
    q = q_ln(q);
    k = k_ln(k);
  }
  auto split = [&](const at::Tensor& y) { return y.reshape({b, t, h, d}).transpose(1, 2); };
  q = split(q);
  k = split(k);
  v = split(v);
  if (cache) std::tie(k, v) = cache->append(k, v);
  at::Tensor out = nn::attention(q, k, v, bias, /*causal=*/true, scale_);
  return out_proj(out.transpose(1, 2).reshape({b, t, h * d}));
}

MptMlpImpl::MptMlpImpl(const io::config::MptConfig& c) {
  mlp_up = register_module("mlp_up", mpt_linear(c, c.d_model, c.mlp_ratio * c.d_model));
  mlp_down = register_module("mlp_down", mpt_linear(c, c.mlp_ratio * c.d_model, c.d_model));
}

at::Tensor MptMlpImpl::forward(const at::Tensor& x) {
  return mlp_down(torch::gelu(mlp_up(x)));  // exact (erf) GELU
}

MptBlockImpl::MptBlockImpl(const io::config::MptConfig& c) {
  ln_1 = register_module("ln_1", mpt_norm(c));
  attn = register_module("attn", MptAttention(c));
  ln_2 = register_module("ln_2", mpt_norm(c));
  mlp = register_module("mlp", MptMlp(c));
}

at::Tensor MptBlockImpl::forward(const at::Tensor& x, const at::Tensor& bias, LayerKvCache* cache) {
  at::Tensor h = x + attn(ln_1(x), bias, cache);
  return h + mlp(ln_2(h));
}

MptTransformerImpl::MptTransformerImpl(const io::config::MptConfig& c) {
  wte = register_module("wte", nn::Embedding(c.vocab_size, c.d_model));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.n_layers; ++i) blocks->push_back(MptBlock(c));
  ln_f = register_module("ln_f", mpt_norm(c));
}

MptForCausalLMImpl::MptForCausalLMImpl(const io::config::MptConfig& c) : config_(c) {
  transformer = register_module("transformer", MptTransformer(c));
}

at::Tensor MptForCausalLMImpl::forward(const at::Tensor& input_ids,
                                       const MptForwardOptions& options) {
  if (input_ids.dim() != 2) throw Error("MPT: input_ids must be [batch, tokens]");
  const int64_t past = options.cache ? options.cache->length() : 0;
  const int64_t tk = past + input_ids.size(1);
  // ALiBi itself has no length limit, but MPT refuses sequences past max_seq_len.
  if (tk > config_.max_seq_len)
    throw Error("MPT: " + std::to_string(tk) + " positions exceed max_seq_len " +
                std::to_string(config_.max_seq_len));
  at::Tensor x = transformer->wte(input_ids);
  const at::Tensor slopes = alibi_slopes(config_.n_heads, config_.alibi_bias_max,
                                         config_.layout == io::config::MptConfig::Layout::mpt);
  const at::Tensor bias = mpt_attention_bias(slopes, options.attention_mask, tk, x.options());
  const bool recompute = recomputes(options);
  for (int64_t i = 0; i < config_.n_layers; ++i) {
    if (options.before_block) x = options.before_block(i, x);
    auto block = transformer->blocks[i]->as<MptBlock>();
    const nn::HookedLayer hooked{layer_hooks_, block};
    if (!recompute) {
      nn::WholeLayer whole(hooked, x);
      LayerKvCache* cache = options.cache ? &options.cache->layer(static_cast<size_t>(i)) : nullptr;
      x = block->forward(x, bias, cache);
      continue;
    }
    x = nn::checkpoint(
        [block, bias](const std::vector<at::Tensor>& in) {
          return std::vector<at::Tensor>{block->forward(in[0], bias, nullptr)};
        },
        {x}, hooked)[0];
  }
  return transformer->ln_f(x);
}

at::Tensor MptForCausalLMImpl::logits(const at::Tensor& hidden) {
  at::Tensor out = at::linear(hidden, transformer->wte->weight);
  if (config_.logit_scale) out = out * *config_.logit_scale;
  return out;
}

}  // namespace lavender::vlm
