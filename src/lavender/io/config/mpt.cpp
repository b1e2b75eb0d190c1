#include "lavender/io/config/mpt.h"

#include <nlohmann/json.hpp>

#include "lavender/io/config/json_fields.h"
#include "lavender/io/json_file.h"

namespace lavender::io::config {

namespace {

// The attention settings, flat in mosaic_gpt configs and in `attn_config` in mpt ones; `prefix`
// is "attn_" for the flat names (attn_qk_ln, attn_clip_qkv), "" inside attn_config.
void read_attention(const Fields& a, MptConfig& c, const std::string& prefix) {
  c.alibi_bias_max = a.number_in("alibi_bias_max", c.alibi_bias_max, 0.0, 1e6);
  c.attn_qk_ln = a.boolean(prefix + "qk_ln", c.attn_qk_ln);
  c.attn_clip_qkv = a.optional_number(prefix + "clip_qkv");
  c.softmax_scale = a.optional_number("softmax_scale");
  // Learned positions (alibi false) and the prefix LM change the forward; neither is in the
  // models lavender runs.
  if (!a.boolean("alibi", false))
    a.fail("alibi", "false (learned position embeddings) is not supported; only ALiBi MPTs");
  if (a.boolean("prefix_lm", false)) a.fail("prefix_lm", "true is not supported");
  if (a.boolean("attn_uses_sequence_id", false))
    a.fail("attn_uses_sequence_id", "true is not supported");
  // Every implementation computes the same attention; the name only picks a kernel upstream.
  a.one_of("attn_impl", "triton", {"torch", "flash", "triton"});
}

}  // namespace

MptConfig parse_mpt_config(const nlohmann::json& j, const std::string& source) {
  const Fields f(j, source);
  const std::string type = f.string("model_type", "");
  if (type != "mosaic_gpt" && type != "mpt")
    f.fail("model_type", "\"" + type +
                             "\" is not an MPT config lavender reads (supported: \"mosaic_gpt\", "
                             "\"mpt\")");
  MptConfig c;
  c.d_model = f.positive("d_model", c.d_model);
  c.n_heads = f.positive("n_heads", c.n_heads);
  c.head_dim = divide_heads(f, "n_heads", c.d_model, c.n_heads);
  c.n_layers = f.positive("n_layers", c.n_layers);
  c.max_seq_len = f.positive("max_seq_len", c.max_seq_len);
  c.vocab_size = f.positive("vocab_size", c.vocab_size);
  c.logit_scale = f.optional_number("logit_scale");
  c.no_bias = f.boolean("no_bias", c.no_bias);
  if (type == "mosaic_gpt") {
    c.mlp_ratio = f.positive("mlp_ratio", c.mlp_ratio);
    read_attention(f, c, "attn_");
    return c;
  }
  c.layout = MptConfig::Layout::mpt;
  c.mlp_ratio = f.positive("expansion_ratio", c.mlp_ratio);
  c.layer_norm_eps = f.number_in("layer_norm_epsilon", c.layer_norm_eps, 0.0, 1.0);
  // Low-precision LayerNorm is LayerNorm computed in the input's dtype: the same in fp32.
  f.one_of("norm_type", "low_precision_layernorm", {"low_precision_layernorm", "layernorm"});
  const Fields a = f.child("attn_config");
  a.one_of("attn_type", "multihead_attention", {"multihead_attention"});
  if (a.boolean("qk_gn", false)) a.fail("qk_gn", "true (per-head q/k norm) is not supported");
  if (a.boolean("rope", false)) a.fail("rope", "true is not supported");
  read_attention(a, c, "");
  const Fields ffn = f.child("ffn_config");
  ffn.one_of("ffn_type", "mptmlp", {"mptmlp"});
  return c;
}

MptConfig load_mpt_config(const std::string& path) {
  return parse_mpt_config(read_json_file(path), path);
}

}  // namespace lavender::io::config
