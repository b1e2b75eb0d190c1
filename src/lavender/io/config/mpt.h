// MosaicML's MPT decoder config in both published layouts: `model_type: "mosaic_gpt"` as MPT-1B
// (the OpenFlamingo-3B language model) ships it (mosaicml/examples' MosaicGPTConfig, flat
// fields), and `model_type: "mpt"` as MPT-7B (OpenFlamingo-9B) ships it (llm-foundry's MPTConfig,
// attention settings in `attn_config`, `expansion_ratio`, `norm_type`). Defaults follow those
// classes. Fields lavender does not implement (learned positions instead of ALiBi, prefix LM,
// grouped-query attention) are errors naming the field and value.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

namespace lavender::io::config {

struct MptConfig {
  // "mpt" checkpoints name the norms and MLP differently (norm_1, ffn.up_proj, norm_f) and round
  // the ALiBi head count up to a power of two for the slopes.
  enum class Layout { mosaic_gpt, mpt } layout = Layout::mosaic_gpt;
  int64_t d_model = 2048;
  int64_t n_heads = 16;
  int64_t n_layers = 24;
  int64_t head_dim = 128;  // derived: d_model / n_heads
  int64_t mlp_ratio = 4;
  int64_t max_seq_len = 2048;
  int64_t vocab_size = 50368;
  double alibi_bias_max = 8;
  bool attn_qk_ln = false;              // LayerNorm over the whole q and k vectors before heads
  std::optional<double> attn_clip_qkv;  // clamp of the fused qkv projection
  std::optional<double> softmax_scale;  // default 1/sqrt(head_dim)
  std::optional<double> logit_scale;    // multiplies the logits
  bool no_bias = false;                 // no bias in any Linear or LayerNorm
  double layer_norm_eps = 1e-5;         // torch.nn.LayerNorm's default; MPT does not set one
};

MptConfig parse_mpt_config(const nlohmann::json& j, const std::string& source);
MptConfig load_mpt_config(const std::string& path);

}  // namespace lavender::io::config
