#include "lavender/io/config/mpt.h"

#include <nlohmann/json.hpp>

#include "lavender/io/config/json_fields.h"
#include "lavender/io/json_file.h"

namespace lavender::io::config {

MptConfig parse_mpt_config(const nlohmann::json& j, const std::string& source) {
  const Fields f(j, source);
  const std::string type = f.string("model_type", "");
  if (type != "mosaic_gpt")
    f.fail("model_type",
           "\"" + type + "\" is not an MPT config lavender reads (supported: \"mosaic_gpt\")");
  MptConfig c;
  c.d_model = f.positive("d_model", c.d_model);
  c.n_heads = f.positive("n_heads", c.n_heads);
  c.head_dim = divide_heads(f, "n_heads", c.d_model, c.n_heads);
  c.n_layers = f.positive("n_layers", c.n_layers);
  c.mlp_ratio = f.positive("mlp_ratio", c.mlp_ratio);
  c.max_seq_len = f.positive("max_seq_len", c.max_seq_len);
  c.vocab_size = f.positive("vocab_size", c.vocab_size);
  c.alibi_bias_max = f.number_in("alibi_bias_max", c.alibi_bias_max, 0.0, 1e6);
  c.attn_qk_ln = f.boolean("attn_qk_ln", c.attn_qk_ln);
  c.attn_clip_qkv = f.optional_number("attn_clip_qkv");
  c.softmax_scale = f.optional_number("softmax_scale");
  c.logit_scale = f.optional_number("logit_scale");
  c.no_bias = f.boolean("no_bias", c.no_bias);
  // Learned positions (alibi false) and the prefix LM change the forward; neither is in the
  // models lavender runs.
  if (!f.boolean("alibi", false))
    f.fail("alibi", "false (learned position embeddings) is not supported; only ALiBi MPTs");
  if (f.boolean("prefix_lm", false)) f.fail("prefix_lm", "true is not supported");
  if (f.boolean("attn_uses_sequence_id", false))
    f.fail("attn_uses_sequence_id", "true is not supported");
  // Every implementation computes the same attention; the name only picks a kernel upstream.
  f.one_of("attn_impl", "triton", {"torch", "flash", "triton"});
  return c;
}

MptConfig load_mpt_config(const std::string& path) {
  return parse_mpt_config(read_json_file(path), path);
}

}  // namespace lavender::io::config
