// MPT (MosaicML's mosaic_gpt, as MPT-1B ships it): a decoder with ALiBi instead of positions, a
// fused `Wqkv` projection, optional LayerNorm over q and k (`attn_qk_ln`), a GELU MLP
// (`mlp_up`/`mlp_down`), optional biases (`no_bias`), and the token embedding `wte` reused as the
// output head. Module tree under the checkpoint's names: `transformer.wte`,
// `transformer.blocks.{i}.{ln_1, attn.{Wqkv, q_ln, k_ln, out_proj}, ln_2, mlp.*}`,
// `transformer.ln_f`. Checkpoints of the "mpt" layout (llm-foundry / MPT-7B: `norm_1`, `ffn.*`,
// `norm_f`) load after mpt_module_key().
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include <functional>
#include <string>

#include "lavender/io/config/mpt.h"
#include "lavender/nn/embedding.h"
#include "lavender/nn/layer_hooks.h"
#include "lavender/nn/layer_norm.h"
#include "lavender/nn/linear.h"
#include "lavender/vlm/kv_cache.h"

namespace lavender::vlm {

// ALiBi slopes [n_heads]: 2^-(h · alibi_bias_max / n_heads) for h = 1..n_heads (mosaic_gpt's
// formula, which differs from the ALiBi paper's for head counts that are not powers of two). With
// `power_of_two` (the "mpt" layout, as llm-foundry computes them): n is rounded up to a power of
// two and, when that changed it, the odd-numbered slopes come first, then the even ones.
at::Tensor alibi_slopes(int64_t n_heads, double alibi_bias_max, bool power_of_two = false);

// The module name of a checkpoint key of the "mpt" layout (`norm_1`, `ffn.up_proj`, `norm_f`,
// ...); other keys come back unchanged.
std::string mpt_module_key(const std::string& key);

class MptAttentionImpl : public torch::nn::Module {
 public:
  explicit MptAttentionImpl(const io::config::MptConfig& c);
  // x [B, T, D]; `bias` additive [B or 1, H, T or 1, past + T] (ALiBi and padding); causal.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& bias, LayerKvCache* cache);

  nn::Linear Wqkv{nullptr}, out_proj{nullptr};
  nn::LayerNorm q_ln{nullptr}, k_ln{nullptr};  // null without attn_qk_ln

 private:
  io::config::MptConfig config_;
  double scale_;
};
TORCH_MODULE(MptAttention);

class MptMlpImpl : public torch::nn::Module {
 public:
  explicit MptMlpImpl(const io::config::MptConfig& c);
  at::Tensor forward(const at::Tensor& x);

  nn::Linear mlp_up{nullptr}, mlp_down{nullptr};
};
TORCH_MODULE(MptMlp);

class MptBlockImpl : public torch::nn::Module {
 public:
  explicit MptBlockImpl(const io::config::MptConfig& c);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& bias, LayerKvCache* cache);

  nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  MptAttention attn{nullptr};
  MptMlp mlp{nullptr};
};
TORCH_MODULE(MptBlock);

class MptTransformerImpl : public torch::nn::Module {
 public:
  explicit MptTransformerImpl(const io::config::MptConfig& c);

  nn::Embedding wte{nullptr};
  torch::nn::ModuleList blocks{nullptr};
  nn::LayerNorm ln_f{nullptr};
};
TORCH_MODULE(MptTransformer);

struct MptForwardOptions {
  // [B, past + T], 1 on real tokens; undefined: no padding. Padded keys are masked.
  at::Tensor attention_mask;
  KvCache* cache = nullptr;  // from make_cache(); null: no cache
  // Runs on the hidden states before decoder block `i` and returns what the block reads:
  // where OpenFlamingo's gated cross-attention layers sit. Empty: none.
  std::function<at::Tensor(int64_t i, const at::Tensor& hidden)> before_block;
};

class MptForCausalLMImpl : public torch::nn::Module {
 public:
  explicit MptForCausalLMImpl(const io::config::MptConfig& c);

  // input_ids [B, T] → final hidden states [B, T, D] (after ln_f).
  at::Tensor forward(const at::Tensor& input_ids, const MptForwardOptions& options = {});
  // Hidden [..., D] → logits [..., vocab] through the tied embedding.
  at::Tensor logits(const at::Tensor& hidden);
  KvCache make_cache() const { return KvCache(static_cast<size_t>(config_.n_layers)); }
  const io::config::MptConfig& config() const { return config_; }
  // Recompute each block's activations in backward (when training without a cache).
  void set_gradient_checkpointing(bool on) { gradient_checkpointing_ = on; }
  // Hooks around every block (nn/layer_hooks.h); nullptr: none.
  void set_layer_hooks(nn::LayerHooks* hooks) { layer_hooks_ = hooks; }
  // Whether this forward recomputes its blocks: what before_block's layers should do too.
  bool recomputes(const MptForwardOptions& options) const {
    return gradient_checkpointing_ && is_training() && !options.cache;
  }

  MptTransformer transformer{nullptr};

 private:
  io::config::MptConfig config_;
  bool gradient_checkpointing_ = false;
  nn::LayerHooks* layer_hooks_ = nullptr;
};
TORCH_MODULE(MptForCausalLM);

}  // namespace lavender::vlm
