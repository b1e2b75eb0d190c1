// CLIP text and vision encoder configs (transformers CLIPTextConfig / CLIPVisionConfig).
// Defaults follow transformers (openai/clip-vit-base-patch32 sizes).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace lavender::io::config {

struct ClipTextConfig {
  int64_t vocab_size = 49408;
  int64_t hidden_size = 512;
  int64_t intermediate_size = 2048;
  int64_t projection_dim = 512;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 8;
  int64_t head_dim = 64;  // derived: hidden_size / num_attention_heads
  int64_t max_position_embeddings = 77;
  std::string hidden_act = "quick_gelu";
  double layer_norm_eps = 1e-5;
  double attention_dropout = 0.0;
  double initializer_range = 0.02;
  double initializer_factor = 1.0;
  // transformers' pad default (1) differs from the CLIP tokenizer's; kept as transformers has it.
  int64_t pad_token_id = 1;
  int64_t bos_token_id = 49406;
  // The pooled output is taken at eos_token_id (or at argmax of ids when it is 2, the legacy
  // value in older configs such as SD 1.x's text encoder); the model decides, we only record it.
  int64_t eos_token_id = 49407;
};

struct ClipVisionConfig {
  int64_t hidden_size = 768;
  int64_t intermediate_size = 3072;
  int64_t projection_dim = 512;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t head_dim = 64;  // derived: hidden_size / num_attention_heads
  int64_t num_channels = 3;
  int64_t image_size = 224;
  int64_t patch_size = 32;
  std::string hidden_act = "quick_gelu";
  double layer_norm_eps = 1e-5;
  double attention_dropout = 0.0;
  double initializer_range = 0.02;
  double initializer_factor = 1.0;
};

class Fields;

// `source` names the document in error messages (usually the file path).
ClipTextConfig parse_clip_text_config(const nlohmann::json& j, const std::string& source);
ClipVisionConfig parse_clip_vision_config(const nlohmann::json& j, const std::string& source);
ClipTextConfig load_clip_text_config(const std::string& path);
ClipVisionConfig load_clip_vision_config(const std::string& path);

// For composite configs (LLaVA): reads a vision config from a nested object, starting from
// `defaults` for absent fields (LLaVA substitutes its own defaults when vision_config is absent).
ClipVisionConfig read_clip_vision_config(const Fields& f, const ClipVisionConfig& defaults);

}  // namespace lavender::io::config
