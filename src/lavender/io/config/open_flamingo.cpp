#include "lavender/io/config/open_flamingo.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "lavender/io/config/json_fields.h"
#include "lavender/io/json_file.h"

namespace lavender::io::config {

OpenFlamingoConfig parse_open_flamingo_config(const nlohmann::json& j, const std::string& source) {
  const Fields f(j, source);
  const std::string type = f.string("model_type", "");
  if (type != "openflamingo")
    f.fail("model_type",
           "\"" + type + "\" is not an OpenFlamingo config (expected \"openflamingo\")");
  OpenFlamingoConfig c;
  c.vision = f.string("vision", c.vision);
  c.lang = f.string("lang", c.lang);
  c.checkpoint = f.string("checkpoint", c.checkpoint);
  if (!f.has("media_token_id")) f.fail("media_token_id", "missing (the <image> token's id)");
  if (!f.has("eoc_token_id")) f.fail("eoc_token_id", "missing (the <|endofchunk|> token's id)");
  c.media_token_id = f.integer("media_token_id", -1, 0, kMaxSize);
  c.eoc_token_id = f.integer("eoc_token_id", -1, 0, kMaxSize);
  c.pad_token_id = f.optional_integer("pad_token_id", std::nullopt, 0, kMaxSize);
  c.vocab_size = f.optional_integer("vocab_size", std::nullopt, 1, kMaxSize);
  c.vis_dim = f.optional_integer("vis_dim", std::nullopt, 1, kMaxSize);
  c.cross_attn_every_n_layers = f.positive("cross_attn_every_n_layers", 1);
  if (f.has("gated_xattn_layers"))
    c.gated_xattn_layers = f.integers("gated_xattn_layers", {}, 0, kMaxSize);

  const Fields p = f.child("perceiver");
  c.perceiver.depth = p.positive("depth", c.perceiver.depth);
  c.perceiver.heads = p.positive("heads", c.perceiver.heads);
  c.perceiver.dim_head = p.positive("dim_head", c.perceiver.dim_head);
  c.perceiver.num_latents = p.positive("num_latents", c.perceiver.num_latents);
  c.perceiver.ff_mult = p.positive("ff_mult", c.perceiver.ff_mult);
  // The release's frame and media-time embeddings are off; lavender does not implement them.
  if (p.has("max_num_media")) p.fail("max_num_media", "media-time embeddings are not supported");
  if (p.has("max_num_frames")) p.fail("max_num_frames", "frame embeddings are not supported");

  const Fields x = f.child("gated_xattn");
  c.gated_xattn.heads = x.positive("heads", c.gated_xattn.heads);
  c.gated_xattn.dim_head = x.positive("dim_head", c.gated_xattn.dim_head);
  c.gated_xattn.ff_mult = x.positive("ff_mult", c.gated_xattn.ff_mult);
  c.gated_xattn.only_attend_immediate_media =
      x.boolean("only_attend_immediate_media", c.gated_xattn.only_attend_immediate_media);
  return c;
}

OpenFlamingoConfig load_open_flamingo_config(const std::string& path) {
  return parse_open_flamingo_config(read_json_file(path), path);
}

std::vector<int64_t> gated_layer_indices(const OpenFlamingoConfig& c, int64_t n_layers) {
  if (c.gated_xattn_layers) return *c.gated_xattn_layers;
  std::vector<int64_t> out;
  for (int64_t i = 0; i < n_layers; ++i)
    if ((i + 1) % c.cross_attn_every_n_layers == 0) out.push_back(i);
  return out;
}

std::string open_flamingo_part_path(const std::string& folder, const std::string& part) {
  if (std::filesystem::path(part).is_absolute()) return part;
  return folder + "/" + part;
}

nlohmann::json open_flamingo_vision_config_json(const std::string& path) {
  nlohmann::json j = read_json_file(path);
  if (j.is_object() && j.contains("vision_config") && j["vision_config"].is_object())
    return j["vision_config"];
  return j;
}

ClipVisionConfig load_open_flamingo_vision_config(const std::string& path) {
  return parse_clip_vision_config(open_flamingo_vision_config_json(path), path);
}

nlohmann::ordered_json open_flamingo_config_json(const OpenFlamingoConfig& c) {
  nlohmann::ordered_json j = {{"model_type", "openflamingo"},
                              {"vision", c.vision},
                              {"lang", c.lang},
                              {"checkpoint", c.checkpoint},
                              {"cross_attn_every_n_layers", c.cross_attn_every_n_layers},
                              {"media_token_id", c.media_token_id},
                              {"eoc_token_id", c.eoc_token_id}};
  if (c.pad_token_id) j["pad_token_id"] = *c.pad_token_id;
  if (c.vocab_size) j["vocab_size"] = *c.vocab_size;
  if (c.vis_dim) j["vis_dim"] = *c.vis_dim;
  // Not read back: says which vision features the sizes refer to, for a reader of the file.
  j["vision_feature"] = "patch tokens (no CLS) of the last encoder layer, before post_layernorm";
  const auto& p = c.perceiver;
  j["perceiver"] = {{"depth", p.depth},
                    {"heads", p.heads},
                    {"dim_head", p.dim_head},
                    {"num_latents", p.num_latents},
                    {"ff_mult", p.ff_mult}};
  const auto& x = c.gated_xattn;
  j["gated_xattn"] = {{"heads", x.heads},
                      {"dim_head", x.dim_head},
                      {"ff_mult", x.ff_mult},
                      {"only_attend_immediate_media", x.only_attend_immediate_media}};
  if (c.gated_xattn_layers) j["gated_xattn_layers"] = *c.gated_xattn_layers;
  return j;
}

}  // namespace lavender::io::config
