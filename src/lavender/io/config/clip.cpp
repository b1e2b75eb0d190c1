#include "lavender/io/config/clip.h"

#include <nlohmann/json.hpp>

#include "lavender/io/config/json_fields.h"
#include "lavender/io/json_file.h"

namespace lavender::io::config {

ClipTextConfig parse_clip_text_config(const nlohmann::json& j, const std::string& source) {
  const Fields f(j, source);
  const ClipTextConfig d;
  ClipTextConfig c;
  c.vocab_size = f.positive("vocab_size", d.vocab_size);
  c.hidden_size = f.positive("hidden_size", d.hidden_size);
  c.intermediate_size = f.positive("intermediate_size", d.intermediate_size);
  c.projection_dim = f.positive("projection_dim", d.projection_dim);
  // 0 is allowed: embeddings and the final norm only (train-dm's context-free text option).
  c.num_hidden_layers = f.integer("num_hidden_layers", d.num_hidden_layers, 0, kMaxSize);
  c.num_attention_heads = f.positive("num_attention_heads", d.num_attention_heads);
  c.head_dim = divide_heads(f, "num_attention_heads", c.hidden_size, c.num_attention_heads);
  c.max_position_embeddings = f.positive("max_position_embeddings", d.max_position_embeddings);
  c.hidden_act = f.one_of("hidden_act", d.hidden_act, transformers_activations());
  c.layer_norm_eps = f.number_in("layer_norm_eps", d.layer_norm_eps, 0.0, 1.0);
  c.attention_dropout = f.number_in("attention_dropout", d.attention_dropout, 0.0, 1.0);
  c.initializer_range = f.number("initializer_range", d.initializer_range);
  c.initializer_factor = f.number("initializer_factor", d.initializer_factor);
  c.pad_token_id = f.integer("pad_token_id", d.pad_token_id, -1, kMaxSize);
  c.bos_token_id = f.integer("bos_token_id", d.bos_token_id, -1, kMaxSize);
  c.eos_token_id = f.integer("eos_token_id", d.eos_token_id, -1, kMaxSize);
  return c;
}

ClipVisionConfig read_clip_vision_config(const Fields& f, const ClipVisionConfig& d) {
  ClipVisionConfig c;
  c.hidden_size = f.positive("hidden_size", d.hidden_size);
  c.intermediate_size = f.positive("intermediate_size", d.intermediate_size);
  c.projection_dim = f.positive("projection_dim", d.projection_dim);
  c.num_hidden_layers = f.positive("num_hidden_layers", d.num_hidden_layers);
  c.num_attention_heads = f.positive("num_attention_heads", d.num_attention_heads);
  c.head_dim = divide_heads(f, "num_attention_heads", c.hidden_size, c.num_attention_heads);
  c.num_channels = f.positive("num_channels", d.num_channels);
  c.image_size = f.positive("image_size", d.image_size);
  c.patch_size = f.positive("patch_size", d.patch_size);
  // The patch embedding is a stride-patch_size conv; a patch larger than the image yields none.
  if (c.patch_size > c.image_size) {
    f.fail("patch_size", "value " + std::to_string(c.patch_size) + " exceeds image_size " +
                             std::to_string(c.image_size));
  }
  c.hidden_act = f.one_of("hidden_act", d.hidden_act, transformers_activations());
  c.layer_norm_eps = f.number_in("layer_norm_eps", d.layer_norm_eps, 0.0, 1.0);
  c.attention_dropout = f.number_in("attention_dropout", d.attention_dropout, 0.0, 1.0);
  c.initializer_range = f.number("initializer_range", d.initializer_range);
  c.initializer_factor = f.number("initializer_factor", d.initializer_factor);
  return c;
}

ClipVisionConfig parse_clip_vision_config(const nlohmann::json& j, const std::string& source) {
  return read_clip_vision_config(Fields(j, source), ClipVisionConfig{});
}

ClipTextConfig load_clip_text_config(const std::string& path) {
  return parse_clip_text_config(read_json_file(path), path);
}

ClipVisionConfig load_clip_vision_config(const std::string& path) {
  return parse_clip_vision_config(read_json_file(path), path);
}

}  // namespace lavender::io::config
