#include "lavender/io/config/llama.h"

#include <nlohmann/json.hpp>

#include "lavender/io/config/json_fields.h"
#include "lavender/io/json_file.h"

namespace lavender::io::config {
namespace {

// Reads `key` of the rope dict `p`, which transformers requires for this rope type.
double required_number(const Fields& p, const std::string& key, RopeType type) {
  if (!p.has(key)) {
    p.fail(key, std::string("missing (required for rope_type \"") + rope_type_name(type) + "\")");
  }
  return p.number(key, 0.0);
}

void require_positive(const Fields& p, const std::string& key, double value) {
  if (!(value > 0.0)) p.fail(key, "must be positive, got " + std::to_string(value));
}

}  // namespace

const char* rope_type_name(RopeType type) {
  switch (type) {
    case RopeType::kDefault:
      return "default";
    case RopeType::kLinear:
      return "linear";
    case RopeType::kLlama3:
      return "llama3";
    case RopeType::kDynamic:
      return "dynamic";
  }
  return "unknown";
}

RopeConfig read_rope_config(const Fields& f, double default_theta) {
  RopeConfig r;
  r.theta = f.number("rope_theta", default_theta);
  require_positive(f, "rope_theta", r.theta);

  // 5.x writes rope_parameters (which also carries rope_theta); 4.x writes rope_scaling, often
  // null for plain RoPE. Prefer the newer layout when a file has both.
  std::string dict_key;
  if (f.has("rope_parameters")) {
    dict_key = "rope_parameters";
  } else if (f.has("rope_scaling")) {
    dict_key = "rope_scaling";
  } else {
    return r;
  }
  const Fields p = f.child(dict_key);

  // 4.x configs may name the type "type" (older) or "rope_type"; both mean the same thing.
  std::string type_key = "rope_type";
  if (p.has("type")) {
    if (!p.has("rope_type")) {
      type_key = "type";
    } else if (p.string("type", "") != p.string("rope_type", "")) {
      p.fail("type", "disagrees with rope_type");
    }
  }
  r.type = p.enumeration<RopeType>(type_key, RopeType::kDefault,
                                   {{"default", RopeType::kDefault},
                                    {"linear", RopeType::kLinear},
                                    {"llama3", RopeType::kLlama3},
                                    {"dynamic", RopeType::kDynamic}});
  if (p.has("rope_theta")) {
    r.theta = p.number("rope_theta", r.theta);
    require_positive(p, "rope_theta", r.theta);
  }

  if (r.type == RopeType::kLinear || r.type == RopeType::kLlama3 || r.type == RopeType::kDynamic) {
    r.factor = required_number(p, "factor", r.type);
    require_positive(p, "factor", r.factor);
  }
  if (r.type == RopeType::kLlama3) {
    r.low_freq_factor = required_number(p, "low_freq_factor", r.type);
    require_positive(p, "low_freq_factor", r.low_freq_factor);
    r.high_freq_factor = required_number(p, "high_freq_factor", r.type);
    // The llama3 ramp divides by (high - low); equal factors would divide by zero.
    if (!(r.high_freq_factor > r.low_freq_factor)) {
      p.fail("high_freq_factor", "must be greater than low_freq_factor");
    }
    if (!p.has("original_max_position_embeddings")) {
      p.fail("original_max_position_embeddings", "missing (required for rope_type \"llama3\")");
    }
    r.original_max_position_embeddings = p.positive("original_max_position_embeddings", 0);
  }
  return r;
}

std::vector<int64_t> read_token_ids(const Fields& f, const std::string& key,
                                    const std::vector<int64_t>& def) {
  if (f.is_null(key)) return {};  // None: no end-of-sequence token
  const nlohmann::json* v = f.find(key);
  if (v == nullptr) return def;
  if (v->is_array()) return f.integers(key, def, kMinTokenId, kMaxSize);
  return {f.integer(key, 0, kMinTokenId, kMaxSize)};
}

LlamaConfig read_llama_config(const Fields& f) {
  const LlamaConfig d;
  LlamaConfig c;
  c.vocab_size = f.positive("vocab_size", d.vocab_size);
  c.hidden_size = f.positive("hidden_size", d.hidden_size);
  c.intermediate_size = f.positive("intermediate_size", d.intermediate_size);
  c.num_hidden_layers = f.positive("num_hidden_layers", d.num_hidden_layers);
  c.num_attention_heads = f.positive("num_attention_heads", d.num_attention_heads);
  c.num_key_value_heads = f.positive("num_key_value_heads", c.num_attention_heads);
  // Each key/value head serves an equal group of query heads.
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    f.fail("num_key_value_heads", "num_attention_heads " + std::to_string(c.num_attention_heads) +
                                      " is not divisible by " +
                                      std::to_string(c.num_key_value_heads) + " key/value heads");
  }
  // An explicit head_dim may differ from hidden_size / heads (q/o projections then change shape).
  if (f.has("head_dim")) {
    c.head_dim = f.positive("head_dim", 0);
  } else {
    c.head_dim = divide_heads(f, "num_attention_heads", c.hidden_size, c.num_attention_heads);
  }
  // RoPE rotates pairs of channels.
  if (c.head_dim % 2 != 0) {
    f.fail(f.has("head_dim") ? "head_dim" : "num_attention_heads",
           "head dimension " + std::to_string(c.head_dim) + " must be even for RoPE");
  }
  c.hidden_act = f.one_of("hidden_act", d.hidden_act, transformers_activations());
  c.max_position_embeddings = f.positive("max_position_embeddings", d.max_position_embeddings);
  c.initializer_range = f.number("initializer_range", d.initializer_range);
  c.rms_norm_eps = f.number_in("rms_norm_eps", d.rms_norm_eps, 0.0, 1.0);
  c.use_cache = f.boolean("use_cache", d.use_cache);
  c.pad_token_id = f.nullable_integer("pad_token_id", d.pad_token_id, kMinTokenId, kMaxSize);
  c.bos_token_id = f.nullable_integer("bos_token_id", d.bos_token_id, kMinTokenId, kMaxSize);
  c.eos_token_ids = read_token_ids(f, "eos_token_id", d.eos_token_ids);
  c.pretraining_tp = f.positive("pretraining_tp", d.pretraining_tp);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", d.tie_word_embeddings);
  c.rope = read_rope_config(f, d.rope.theta);
  c.attention_bias = f.boolean("attention_bias", d.attention_bias);
  c.attention_dropout = f.number_in("attention_dropout", d.attention_dropout, 0.0, 1.0);
  c.mlp_bias = f.boolean("mlp_bias", d.mlp_bias);
  return c;
}

LlamaConfig parse_llama_config(const nlohmann::json& j, const std::string& source) {
  return read_llama_config(Fields(j, source));
}

LlamaConfig load_llama_config(const std::string& path) {
  return parse_llama_config(read_json_file(path), path);
}

}  // namespace lavender::io::config
