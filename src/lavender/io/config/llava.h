// LLaVA config (transformers LlavaConfig): a CLIP vision tower, a two-layer MLP projector and a
// Llama decoder. Defaults follow transformers 5.x (llava-1.5-7b).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "lavender/io/config/clip.h"
#include "lavender/io/config/llama.h"

namespace lavender::io::config {

// Which vision tokens feed the projector: "default" drops the CLS token, "full" keeps it.
enum class VisionFeatureSelectStrategy { kDefault, kFull };

// The vision tower LLaVA builds when vision_config is absent (CLIP ViT-L/14 at 336 px), which
// differs from CLIPVisionConfig's own defaults (ViT-B/32 at 224 px).
ClipVisionConfig llava_default_vision_config();

struct LlavaConfig {
  LlamaConfig text_config;
  ClipVisionConfig vision_config = llava_default_vision_config();
  // "image_token_index" (the saved name) or its alias "image_token_id".
  int64_t image_token_index = 32000;
  std::string projector_hidden_act = "gelu";
  VisionFeatureSelectStrategy vision_feature_select_strategy =
      VisionFeatureSelectStrategy::kDefault;
  // Index (Python style, negative from the end) into the vision tower's hidden states, which
  // hold num_hidden_layers + 1 entries (the embeddings first). A list selects several layers
  // whose features are concatenated; a single int is stored as a one-element list.
  std::vector<int64_t> vision_feature_layers = {-2};
  int64_t image_seq_length = 576;
  bool multimodal_projector_bias = true;
  // True when the file or its text_config says so (transformers forwards the text config's flag).
  bool tie_word_embeddings = false;
};

LlavaConfig parse_llava_config(const nlohmann::json& j, const std::string& source);
LlavaConfig load_llava_config(const std::string& path);

}  // namespace lavender::io::config
