#include "lavender/io/config/mllama.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "lavender/io/config/json_fields.h"
#include "lavender/io/json_file.h"

namespace lavender::io::config {
namespace {

std::vector<std::array<int64_t, 2>> read_aspect_ratios(const Fields& f, int64_t max_num_tiles,
                                                       const MllamaVisionConfig& d) {
  const std::string key = "supported_aspect_ratios";
  const nlohmann::json* v = f.find(key);
  if (v == nullptr) {
    // transformers only knows the default list for 4 tiles.
    if (max_num_tiles != 4) {
      f.fail(key, "missing (the default list is only defined for max_num_tiles 4, got " +
                      std::to_string(max_num_tiles) + ")");
    }
    return d.supported_aspect_ratios;
  }
  if (!v->is_array()) f.fail(key, std::string("expected an array, got ") + v->type_name());
  if (v->empty()) f.fail(key, "empty list");
  std::vector<std::array<int64_t, 2>> out;
  for (size_t i = 0; i < v->size(); ++i) {
    const nlohmann::json& pair = (*v)[i];
    const std::string at = f.path(key) + "[" + std::to_string(i) + "]";
    if (!pair.is_array() || pair.size() != 2) {
      throw_field_error(f.source(), at, "expected a [rows, columns] pair");
    }
    // Each side is at most max_num_tiles, so the product below cannot overflow.
    const int64_t rows = to_integer(pair[0], f.source(), at + "[0]", 1, max_num_tiles);
    const int64_t cols = to_integer(pair[1], f.source(), at + "[1]", 1, max_num_tiles);
    if (rows * cols > max_num_tiles) {
      throw_field_error(f.source(), at,
                        "uses " + std::to_string(rows * cols) + " tiles, more than max_num_tiles " +
                            std::to_string(max_num_tiles));
    }
    out.push_back({rows, cols});
  }
  return out;
}

MllamaVisionConfig read_vision(const Fields& f) {
  const MllamaVisionConfig d;
  MllamaVisionConfig c;
  c.hidden_size = f.positive("hidden_size", d.hidden_size);
  c.hidden_act = f.one_of("hidden_act", d.hidden_act, transformers_activations());
  c.num_hidden_layers = f.positive("num_hidden_layers", d.num_hidden_layers);
  c.num_global_layers = f.integer("num_global_layers", d.num_global_layers, 0, kMaxSize);
  const char* heads_key = f.has("attention_heads") ? "attention_heads" : "num_attention_heads";
  c.num_attention_heads = f.positive(heads_key, d.num_attention_heads);
  c.head_dim = divide_heads(f, heads_key, c.hidden_size, c.num_attention_heads);
  c.num_channels = f.positive("num_channels", d.num_channels);
  c.intermediate_size = f.positive("intermediate_size", d.intermediate_size);
  c.image_size = f.positive("image_size", d.image_size);
  c.patch_size = f.positive("patch_size", d.patch_size);
  if (c.patch_size > c.image_size) {
    f.fail("patch_size", "value " + std::to_string(c.patch_size) + " exceeds image_size " +
                             std::to_string(c.image_size));
  }
  c.norm_eps = f.number_in("norm_eps", d.norm_eps, 0.0, 1.0);
  c.max_num_tiles = f.positive("max_num_tiles", d.max_num_tiles);
  // Indices into the local encoder's hidden states (num_hidden_layers + 1 of them, the patch
  // embeddings first), Python style.
  const int64_t layers = c.num_hidden_layers;
  c.intermediate_layers_indices = f.integers("intermediate_layers_indices",
                                             d.intermediate_layers_indices, -(layers + 1), layers);
  c.vision_output_dim = f.positive("vision_output_dim", d.vision_output_dim);
  // The projector's input width must match the concatenated features, or weights won't load.
  const int64_t parts = static_cast<int64_t>(c.intermediate_layers_indices.size()) + 1;
  if (c.vision_output_dim % c.hidden_size != 0 || c.vision_output_dim / c.hidden_size != parts) {
    f.fail("vision_output_dim", "value " + std::to_string(c.vision_output_dim) +
                                    " is not hidden_size * (len(intermediate_layers_indices) + 1)");
  }
  c.supported_aspect_ratios = read_aspect_ratios(f, c.max_num_tiles, d);
  c.initializer_range = f.number("initializer_range", d.initializer_range);
  return c;
}

MllamaTextConfig read_text(const Fields& f) {
  const MllamaTextConfig d;
  MllamaTextConfig c;
  c.vocab_size = f.positive("vocab_size", d.vocab_size);
  c.hidden_size = f.positive("hidden_size", d.hidden_size);
  c.hidden_act = f.one_of("hidden_act", d.hidden_act, transformers_activations());
  c.num_hidden_layers = f.positive("num_hidden_layers", d.num_hidden_layers);
  c.num_attention_heads = f.positive("num_attention_heads", d.num_attention_heads);
  c.num_key_value_heads = f.positive("num_key_value_heads", d.num_key_value_heads);
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    f.fail("num_key_value_heads", "num_attention_heads " + std::to_string(c.num_attention_heads) +
                                      " is not divisible by " +
                                      std::to_string(c.num_key_value_heads) + " key/value heads");
  }
  c.head_dim = divide_heads(f, "num_attention_heads", c.hidden_size, c.num_attention_heads);
  if (c.head_dim % 2 != 0) {
    f.fail("num_attention_heads",
           "head dimension " + std::to_string(c.head_dim) + " must be even for RoPE");
  }
  c.intermediate_size = f.positive("intermediate_size", d.intermediate_size);
  c.rope = read_rope_config(f, d.rope.theta);
  c.rms_norm_eps = f.number_in("rms_norm_eps", d.rms_norm_eps, 0.0, 1.0);
  c.max_position_embeddings = f.positive("max_position_embeddings", d.max_position_embeddings);
  c.initializer_range = f.number("initializer_range", d.initializer_range);
  c.use_cache = f.boolean("use_cache", d.use_cache);
  c.tie_word_embeddings = f.boolean("tie_word_embeddings", d.tie_word_embeddings);
  c.cross_attention_layers =
      f.integers("cross_attention_layers", d.cross_attention_layers, 0, c.num_hidden_layers - 1);
  std::vector<int64_t> sorted = c.cross_attention_layers;
  std::sort(sorted.begin(), sorted.end());
  const auto dup = std::adjacent_find(sorted.begin(), sorted.end());
  if (dup != sorted.end()) {
    f.fail("cross_attention_layers", "layer " + std::to_string(*dup) + " listed twice");
  }
  c.dropout = f.number_in("dropout", d.dropout, 0.0, 1.0);
  c.bos_token_id = f.nullable_integer("bos_token_id", d.bos_token_id, kMinTokenId, kMaxSize);
  c.eos_token_ids = read_token_ids(f, "eos_token_id", d.eos_token_ids);
  c.pad_token_id = f.nullable_integer("pad_token_id", d.pad_token_id, kMinTokenId, kMaxSize);
  return c;
}

}  // namespace

MllamaVisionConfig parse_mllama_vision_config(const nlohmann::json& j, const std::string& source) {
  return read_vision(Fields(j, source));
}

MllamaTextConfig parse_mllama_text_config(const nlohmann::json& j, const std::string& source) {
  return read_text(Fields(j, source));
}

MllamaConfig parse_mllama_config(const nlohmann::json& j, const std::string& source) {
  const Fields f(j, source);
  const MllamaConfig d;
  MllamaConfig c;
  const Fields vision = f.child("vision_config");
  vision.one_of("model_type", "mllama_vision_model", {"mllama_vision_model"});
  c.vision_config = read_vision(vision);
  const Fields text = f.child("text_config");
  text.one_of("model_type", "mllama_text_model", {"mllama_text_model"});
  c.text_config = read_text(text);
  const char* token_key = f.has("image_token_index") ? "image_token_index" : "image_token_id";
  c.image_token_index = f.integer(token_key, d.image_token_index, 0, kMaxSize);
  return c;
}

MllamaConfig load_mllama_config(const std::string& path) {
  return parse_mllama_config(read_json_file(path), path);
}

}  // namespace lavender::io::config
