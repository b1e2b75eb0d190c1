// Llama decoder config (transformers LlamaConfig), including RoPE settings in both layouts:
//  - transformers 4.x: top-level "rope_theta" plus "rope_scaling" ({"type"|"rope_type", ...}
//    or null);
//  - transformers 5.x: "rope_parameters" ({"rope_type", "rope_theta", ...}).
// Defaults follow transformers 5.x (Llama-2-7b sizes).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace lavender::io::config {

// The RoPE variants lavender implements (transformers' "default", "linear", "llama3" and
// "dynamic", the dynamic NTK scaling that raises theta once a sequence outgrows
// max_position_embeddings).
enum class RopeType { kDefault, kLinear, kLlama3, kDynamic };

const char* rope_type_name(RopeType type);

struct RopeConfig {
  RopeType type = RopeType::kDefault;
  double theta = 10000.0;
  // linear and llama3: positions are stretched by this factor; dynamic: the NTK factor.
  double factor = 1.0;
  // llama3 only (all four are required by transformers for llama3; the values here are those of
  // Llama 3.1/3.2 and only matter for hand-built configs).
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct LlamaConfig {
  int64_t vocab_size = 32000;
  int64_t hidden_size = 4096;
  int64_t intermediate_size = 11008;
  int64_t num_hidden_layers = 32;
  int64_t num_attention_heads = 32;
  // GQA: absent means num_attention_heads (plain multi-head attention).
  int64_t num_key_value_heads = 32;
  // Absent means hidden_size / num_attention_heads.
  int64_t head_dim = 128;
  std::string hidden_act = "silu";
  int64_t max_position_embeddings = 2048;
  double initializer_range = 0.02;
  double rms_norm_eps = 1e-6;
  bool use_cache = true;
  std::optional<int64_t> pad_token_id;  // transformers default: None
  std::optional<int64_t> bos_token_id = 1;
  std::vector<int64_t> eos_token_ids = {2};  // "eos_token_id": an int or a list of ints
  int64_t pretraining_tp = 1;
  bool tie_word_embeddings = false;
  RopeConfig rope;
  bool attention_bias = false;
  double attention_dropout = 0.0;
  bool mlp_bias = false;
};

class Fields;

LlamaConfig parse_llama_config(const nlohmann::json& j, const std::string& source);
LlamaConfig load_llama_config(const std::string& path);

// Shared with other Llama-style decoders (Mllama text): reads the RoPE settings of the object in
// `f`, using `default_theta` when no rope_theta is given anywhere.
RopeConfig read_rope_config(const Fields& f, double default_theta);

// Shared token-id reader: "eos_token_id" may be one id or a list of ids (null: none).
std::vector<int64_t> read_token_ids(const Fields& f, const std::string& key,
                                    const std::vector<int64_t>& def);

// For composite configs (LLaVA): reads a Llama config from a nested object.
LlamaConfig read_llama_config(const Fields& f);

}  // namespace lavender::io::config
