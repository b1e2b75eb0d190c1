#include "lavender/scratch/scratch_parts.h"

#include <torch/torch.h>

#include "lavender/text/byte_tokenizer_json.h"
#include "lavender/util/error.h"

namespace lavender::scratch {

void check_scratch_option(bool ok, const std::string& family, const std::string& option,
                          const std::string& problem) {
  if (!ok) throw Error("scratch " + family + ": " + option + ": " + problem);
}

void check_scratch_positive(const std::string& family,
                            std::initializer_list<std::pair<const char*, int64_t>> sizes) {
  for (const auto& [name, v] : sizes)
    check_scratch_option(v > 0, family, name, "must be positive (got " + std::to_string(v) + ")");
}

void check_scratch_divides(const std::string& family, const char* divisor_name, int64_t divisor,
                           const char* value_name, int64_t value) {
  check_scratch_option(
      value % divisor == 0, family, divisor_name,
      std::to_string(divisor) + " does not divide " + value_name + " " + std::to_string(value));
}

void check_scratch_towers(const std::string& family, const ScratchTowerSizes& s) {
  check_scratch_divides(family, "patch_size", s.patch_size, "image_size", s.image_size);
  check_scratch_divides(family, "vision_heads", s.vision_heads, "vision_hidden", s.vision_hidden);
  check_scratch_divides(family, "text_heads", s.text_heads, "text_hidden", s.text_hidden);
  if (s.rotary)
    check_scratch_option((s.text_hidden / s.text_heads) % 2 == 0, family, "text_heads",
                         "the head width must be even for rotary embeddings");
  check_scratch_option(s.init_std > 0, family, "init_std", "must be positive");
}

nlohmann::json scratch_clip_vision_config(const ScratchVisionSizes& s) {
  return {{"model_type", "clip_vision_model"},
          {"hidden_size", s.hidden},
          {"intermediate_size", s.mlp_ratio * s.hidden},
          {"num_hidden_layers", s.layers},
          {"num_attention_heads", s.heads},
          {"image_size", s.image_size},
          {"patch_size", s.patch_size},
          {"hidden_act", "quick_gelu"},
          {"layer_norm_eps", 1e-5}};
}

nlohmann::json scratch_llama_fields(const ScratchLlamaSizes& s) {
  return {{"vocab_size", s.vocab_size},
          {"hidden_size", s.hidden},
          {"intermediate_size", s.mlp_ratio * s.hidden},
          {"num_hidden_layers", s.layers},
          {"num_attention_heads", s.heads},
          {"num_key_value_heads", s.heads},
          {"max_position_embeddings", s.max_positions},
          {"rms_norm_eps", 1e-5},
          {"tie_word_embeddings", false}};
}

nlohmann::json scratch_preprocessor_config(int64_t size) {
  return {{"image_processor_type", "CLIPImageProcessor"},
          {"do_resize", true},
          {"size", {{"shortest_edge", size}}},
          {"do_center_crop", true},
          {"crop_size", {{"height", size}, {"width", size}}},
          {"do_rescale", true},
          {"rescale_factor", 1.0 / 255},
          {"do_normalize", true},
          {"image_mean", {0.5, 0.5, 0.5}},
          {"image_std", {0.5, 0.5, 0.5}},
          {"resample", 2},
          {"do_convert_rgb", true}};
}

nlohmann::json ScratchVocabulary::tokenizer_json() const {
  return text::byte_level_tokenizer_json(size, specials, merges, pattern);
}

ScratchVocabulary learn_scratch_vocabulary(const std::vector<std::string>& corpus,
                                           std::vector<std::string> specials,
                                           text::SplitPattern pattern) {
  ScratchVocabulary v;
  v.merges = text::learn_byte_level_merges(corpus, {}, pattern);
  v.specials = std::move(specials);
  v.pattern = pattern;
  const int64_t used =
      256 + text::merged_token_count(v.merges) + static_cast<int64_t>(v.specials.size());
  v.size = (used + 7) / 8 * 8;
  return v;
}

std::vector<std::pair<std::string, at::Tensor>> scratch_initialised_weights(
    torch::nn::Module& module, double std) {
  torch::NoGradGuard no_grad;
  std::vector<std::pair<std::string, at::Tensor>> weights;
  for (auto& p : module.named_parameters()) {
    at::Tensor t = p.value();
    const std::string& name = p.key();
    if (t.dim() >= 2)
      t.normal_(0, std);
    else if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0)
      t.zero_();
    weights.emplace_back(name, t);
  }
  return weights;
}

}  // namespace lavender::scratch
