// The root config.json of an OpenFlamingo folder. OpenFlamingo releases no config of its own
// (its factory function takes these as arguments), so lavender's describes the three parts —
// the vision tower folder (CLIP ViT in the transformers CLIPVisionModel layout), the language
// model folder (MPT), the trainable-weights checkpoint — and the sizes of the Perceiver and the
// gated cross-attention. Absent sizes default to the released OpenFlamingo-3B-vitl-mpt1b values;
// the loader checks them against the checkpoint's tensor shapes.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lavender/io/config/clip.h"

namespace lavender::io::config {

struct OpenFlamingoConfig {
  std::string vision = "vision";  // folders and file, relative to the config's folder
  std::string lang = "lang";
  std::string checkpoint = "checkpoint.pt";
  int64_t media_token_id = -1;  // <image>: required (the tokenizer's added token)
  int64_t eoc_token_id = -1;    // <|endofchunk|>: required, generation stops there
  std::optional<int64_t> pad_token_id;
  std::optional<int64_t> vocab_size;  // after the release's resize; else the checkpoint's wte
  std::optional<int64_t> vis_dim;     // else the vision tower's hidden_size
  int64_t cross_attn_every_n_layers = 1;
  // Decoder blocks with a gated cross-attention layer before them; absent: every n-th
  // (index i with (i + 1) % n == 0), as the release builds them.
  std::optional<std::vector<int64_t>> gated_xattn_layers;
  struct Perceiver {
    int64_t depth = 6, heads = 8, dim_head = 64, num_latents = 64, ff_mult = 4;
  } perceiver;
  struct GatedXattn {
    int64_t heads = 8, dim_head = 64, ff_mult = 4;
    bool only_attend_immediate_media = true;
  } gated_xattn;
};

OpenFlamingoConfig parse_open_flamingo_config(const nlohmann::json& j, const std::string& source);
OpenFlamingoConfig load_open_flamingo_config(const std::string& path);

// The decoder blocks that have a gated cross-attention layer before them: gated_xattn_layers
// when given, else every cross_attn_every_n_layers-th block (upstream's (i + 1) % n == 0).
std::vector<int64_t> gated_layer_indices(const OpenFlamingoConfig& c, int64_t n_layers);

// Where a part named in the config lies: an absolute path as it is, a relative one under the
// config's folder.
std::string open_flamingo_part_path(const std::string& folder, const std::string& part);

// The vision tower's config.json: a CLIPVisionModel's, or a whole CLIPModel's (as
// openai/clip-vit-large-patch14 ships it), whose vision_config describes the tower.
nlohmann::json open_flamingo_vision_config_json(const std::string& path);
ClipVisionConfig load_open_flamingo_vision_config(const std::string& path);

// The config as config.json holds it: every field written out in a reading order (sizes too, so
// that a reader sees the release's shape without knowing the defaults), gated_xattn_layers only
// when given.
nlohmann::ordered_json open_flamingo_config_json(const OpenFlamingoConfig& c);

}  // namespace lavender::io::config
