#include "lavender/io/config/llava.h"

#include <nlohmann/json.hpp>

#include "lavender/io/config/json_fields.h"
#include "lavender/io/json_file.h"

namespace lavender::io::config {
namespace {

// Sub-configs may name their model_type; only the families lavender implements are accepted.
void check_model_type(const Fields& f, const std::string& expected) {
  f.one_of("model_type", expected, {expected});
}

}  // namespace

ClipVisionConfig llava_default_vision_config() {
  ClipVisionConfig c;
  c.hidden_size = 1024;
  c.intermediate_size = 4096;
  c.projection_dim = 768;
  c.num_hidden_layers = 24;
  c.num_attention_heads = 16;
  c.head_dim = 64;
  c.image_size = 336;
  c.patch_size = 14;
  return c;
}

LlavaConfig parse_llava_config(const nlohmann::json& j, const std::string& source) {
  const Fields f(j, source);
  const LlavaConfig d;
  LlavaConfig c;

  const Fields text = f.child("text_config");
  check_model_type(text, "llama");
  c.text_config = read_llama_config(text);

  const Fields vision = f.child("vision_config");
  check_model_type(vision, "clip_vision_model");
  // A present vision_config starts from CLIPVisionConfig's defaults, an absent one is LLaVA's.
  c.vision_config = read_clip_vision_config(
      vision, f.has("vision_config") ? ClipVisionConfig{} : llava_default_vision_config());

  const char* token_key = f.has("image_token_index") ? "image_token_index" : "image_token_id";
  c.image_token_index = f.integer(token_key, d.image_token_index, 0, kMaxSize);

  c.projector_hidden_act =
      f.one_of("projector_hidden_act", d.projector_hidden_act, transformers_activations());
  c.vision_feature_select_strategy = f.enumeration<VisionFeatureSelectStrategy>(
      "vision_feature_select_strategy", d.vision_feature_select_strategy,
      {{"default", VisionFeatureSelectStrategy::kDefault},
       {"full", VisionFeatureSelectStrategy::kFull}});

  // hidden_states has num_hidden_layers + 1 entries, indexed from either end.
  const int64_t layers = c.vision_config.num_hidden_layers;
  const nlohmann::json* feature_layer = f.find("vision_feature_layer");
  if (feature_layer != nullptr && feature_layer->is_array()) {
    c.vision_feature_layers = f.integers("vision_feature_layer", {}, -(layers + 1), layers);
    if (c.vision_feature_layers.empty()) f.fail("vision_feature_layer", "empty list");
  } else {
    c.vision_feature_layers = {
        f.integer("vision_feature_layer", d.vision_feature_layers[0], -(layers + 1), layers)};
  }

  c.image_seq_length = f.positive("image_seq_length", d.image_seq_length);
  c.multimodal_projector_bias = f.boolean("multimodal_projector_bias", d.multimodal_projector_bias);
  c.tie_word_embeddings =
      f.boolean("tie_word_embeddings", d.tie_word_embeddings) || c.text_config.tie_word_embeddings;
  return c;
}

LlavaConfig load_llava_config(const std::string& path) {
  return parse_llava_config(read_json_file(path), path);
}

}  // namespace lavender::io::config
