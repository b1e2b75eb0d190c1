#include "lavender/scratch/scratch_llava.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "lavender/io/config/llava.h"
#include "lavender/io/save_checkpoint.h"
#include "lavender/text/byte_tokenizer_json.h"
#include "lavender/util/error.h"
#include "lavender/vlm/llava.h"

namespace lavender::scratch {

using vlm::LlavaForConditionalGeneration;
namespace {

// Specials in id order; they take the top ids of the vocabulary.
const std::vector<std::string> kSpecials = {"<unk>", "<s>", "</s>", "<pad>", "<image>"};

struct SpecialIds {
  int64_t bos, eos, pad, image;
  explicit SpecialIds(int64_t vocab)
      : bos(vocab - 4), eos(vocab - 3), pad(vocab - 2), image(vocab - 1) {}
};

void check(bool ok, const std::string& option, const std::string& problem) {
  if (!ok) throw Error("scratch LLaVA: " + option + ": " + problem);
}

void check_options(const ScratchLlavaOptions& o) {
  for (const auto& [name, v] : {std::pair<const char*, int64_t>{"image_size", o.image_size},
                                {"patch_size", o.patch_size},
                                {"vision_hidden", o.vision_hidden},
                                {"vision_layers", o.vision_layers},
                                {"vision_heads", o.vision_heads},
                                {"text_hidden", o.text_hidden},
                                {"text_layers", o.text_layers},
                                {"text_heads", o.text_heads},
                                {"mlp_ratio", o.mlp_ratio},
                                {"max_positions", o.max_positions}})
    check(v > 0, name, "must be positive (got " + std::to_string(v) + ")");
  check(
      o.image_size % o.patch_size == 0, "patch_size",
      std::to_string(o.patch_size) + " does not divide image_size " + std::to_string(o.image_size));
  check(o.vision_hidden % o.vision_heads == 0, "vision_heads",
        std::to_string(o.vision_heads) + " does not divide vision_hidden " +
            std::to_string(o.vision_hidden));
  check(o.text_hidden % o.text_heads == 0, "text_heads",
        std::to_string(o.text_heads) + " does not divide text_hidden " +
            std::to_string(o.text_hidden));
  check((o.text_hidden / o.text_heads) % 2 == 0, "text_heads",
        "the head width must be even for rotary embeddings");
  check(o.init_std > 0, "init_std", "must be positive");
}

nlohmann::json preprocessor_config(int64_t size) {
  // Plain [-1, 1] scaling: a model trained from scratch has no CLIP statistics to match.
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

// Random weights as transformers initialises Llama/CLIP-style models: matrices and embeddings
// normal(0, std), biases zero, norm weights one (the modules' own initial values).
std::vector<std::pair<std::string, at::Tensor>> random_weights(
    const io::config::LlavaConfig& config, const ScratchLlavaOptions& o) {
  torch::manual_seed(o.seed);
  LlavaForConditionalGeneration model(config);
  torch::NoGradGuard no_grad;
  std::vector<std::pair<std::string, at::Tensor>> weights;
  for (auto& p : model->named_parameters()) {
    at::Tensor t = p.value();
    const std::string& name = p.key();
    if (t.dim() >= 2)
      t.normal_(0, o.init_std);
    else if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0)
      t.zero_();
    weights.emplace_back(name, t);
  }
  return weights;
}

}  // namespace

nlohmann::json scratch_llava_config(const ScratchLlavaOptions& o, int64_t vocab_size) {
  check_options(o);
  check(vocab_size >= 256 + static_cast<int64_t>(kSpecials.size()), "vocab_size",
        "must hold the 256 bytes and the specials");
  const SpecialIds id(vocab_size);
  const int64_t patches = (o.image_size / o.patch_size) * (o.image_size / o.patch_size);
  return {{"architectures", {"LlavaForConditionalGeneration"}},
          {"model_type", "llava"},
          {"image_token_index", id.image},
          {"image_seq_length", patches},
          {"projector_hidden_act", "gelu"},
          {"vision_feature_layer", -1},
          {"vision_feature_select_strategy", "default"},
          {"tie_word_embeddings", false},
          {"pad_token_id", id.pad},
          {"text_config",
           {{"model_type", "llama"},
            {"vocab_size", vocab_size},
            {"hidden_size", o.text_hidden},
            {"intermediate_size", o.mlp_ratio * o.text_hidden},
            {"num_hidden_layers", o.text_layers},
            {"num_attention_heads", o.text_heads},
            {"num_key_value_heads", o.text_heads},
            {"max_position_embeddings", o.max_positions},
            {"rms_norm_eps", 1e-5},
            {"bos_token_id", id.bos},
            {"eos_token_id", id.eos},
            {"pad_token_id", id.pad},
            {"tie_word_embeddings", false}}},
          {"vision_config",
           {{"model_type", "clip_vision_model"},
            {"hidden_size", o.vision_hidden},
            {"intermediate_size", o.mlp_ratio * o.vision_hidden},
            {"num_hidden_layers", o.vision_layers},
            {"num_attention_heads", o.vision_heads},
            {"image_size", o.image_size},
            {"patch_size", o.patch_size},
            {"hidden_act", "quick_gelu"},
            {"layer_norm_eps", 1e-5}}}};
}

void write_scratch_llava(const std::string& dir, const ScratchLlavaOptions& o) {
  const text::BpeMerges merges = text::learn_byte_level_merges(o.corpus);
  const int64_t used =
      256 + text::merged_token_count(merges) + static_cast<int64_t>(kSpecials.size());
  const int64_t vocab = (used + 7) / 8 * 8;
  const SpecialIds id(vocab);
  const nlohmann::json config = scratch_llava_config(o, vocab);
  io::SaveCheckpointOptions files;
  files.extra_files["tokenizer.json"] =
      text::byte_level_tokenizer_json(vocab, kSpecials, merges).dump();
  files.extra_files["preprocessor_config.json"] = preprocessor_config(o.image_size).dump(2);
  files.extra_files["generation_config.json"] = nlohmann::json{
      {"bos_token_id", id.bos},
      {"eos_token_id", id.eos},
      {"pad_token_id", id.pad}}.dump(2);
  files.extra_files["special_tokens_map.json"] = nlohmann::json{
      {"bos_token", "<s>"},
      {"eos_token", "</s>"},
      {"unk_token", "<unk>"},
      {"pad_token", "<pad>"}}.dump(2);
  io::save_hf_checkpoint(dir, random_weights(io::config::parse_llava_config(config, dir), o),
                         config, files);
}

}  // namespace lavender::scratch
