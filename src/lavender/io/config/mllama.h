// Mllama (Llama 3.2 Vision) config: transformers MllamaConfig with MllamaVisionConfig and
// MllamaTextConfig. Defaults follow transformers (Llama-3.2-11B-Vision sizes).
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lavender/io/config/llama.h"

namespace lavender::io::config {

struct MllamaVisionConfig {
  int64_t hidden_size = 1280;
  std::string hidden_act = "gelu";
  int64_t num_hidden_layers = 32;  // local (tiled) encoder layers
  int64_t num_global_layers = 8;   // gated global encoder layers
  // Saved as "attention_heads" (the attribute name); "num_attention_heads" (the constructor
  // argument) is accepted too.
  int64_t num_attention_heads = 16;
  int64_t head_dim = 80;  // derived: hidden_size / num_attention_heads
  int64_t num_channels = 3;
  int64_t intermediate_size = 5120;
  // Width of the features handed to the projector: the final hidden state concatenated with one
  // per intermediate layer, i.e. hidden_size * (intermediate_layers_indices.size() + 1).
  int64_t vision_output_dim = 7680;
  int64_t image_size = 448;  // per tile
  int64_t patch_size = 14;
  double norm_eps = 1e-5;
  int64_t max_num_tiles = 4;
  std::vector<int64_t> intermediate_layers_indices = {3, 7, 15, 23, 30};
  // Tile grids as {rows, columns}; aspect-ratio ids are 1-based positions in this list.
  std::vector<std::array<int64_t, 2>> supported_aspect_ratios = {{1, 1}, {1, 2}, {1, 3}, {1, 4},
                                                                 {2, 1}, {2, 2}, {3, 1}, {4, 1}};
  double initializer_range = 0.02;
};

// Plain RoPE with theta 500000, MllamaTextConfig's default (the 11B checkpoint adds llama3
// scaling in its config).
inline RopeConfig mllama_default_rope() {
  RopeConfig r;
  r.theta = 500000.0;
  return r;
}

struct MllamaTextConfig {
  int64_t vocab_size = 128256;
  int64_t hidden_size = 4096;
  std::string hidden_act = "silu";
  int64_t num_hidden_layers = 40;  // counts the cross-attention layers too
  int64_t num_attention_heads = 32;
  int64_t num_key_value_heads = 8;
  int64_t head_dim = 128;  // derived: hidden_size / num_attention_heads
  int64_t intermediate_size = 14336;
  RopeConfig rope = mllama_default_rope();
  double rms_norm_eps = 1e-5;
  int64_t max_position_embeddings = 131072;
  double initializer_range = 0.02;
  bool use_cache = true;
  bool tie_word_embeddings = false;
  // Decoder layers that are cross-attention layers, each in [0, num_hidden_layers).
  std::vector<int64_t> cross_attention_layers = {3, 8, 13, 18, 23, 28, 33, 38};
  double dropout = 0.0;
  std::optional<int64_t> bos_token_id = 128000;
  std::vector<int64_t> eos_token_ids = {128001};
  std::optional<int64_t> pad_token_id = 128004;
};

struct MllamaConfig {
  MllamaVisionConfig vision_config;
  MllamaTextConfig text_config;
  // "image_token_index" (the saved name) or its alias "image_token_id".
  int64_t image_token_index = 128256;
};

MllamaConfig parse_mllama_config(const nlohmann::json& j, const std::string& source);
MllamaConfig load_mllama_config(const std::string& path);
MllamaVisionConfig parse_mllama_vision_config(const nlohmann::json& j, const std::string& source);
MllamaTextConfig parse_mllama_text_config(const nlohmann::json& j, const std::string& source);

}  // namespace lavender::io::config
