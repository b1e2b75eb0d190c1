#include "lavender/scratch/scratch_llava.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "lavender/io/config/llava.h"
#include "lavender/io/save_checkpoint.h"
#include "lavender/scratch/scratch_parts.h"
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

const char* const kLlavaFamily = "LLaVA";

void check_options(const ScratchLlavaOptions& o) {
  check_scratch_positive(kLlavaFamily, {{"image_size", o.image_size},
                                        {"patch_size", o.patch_size},
                                        {"vision_hidden", o.vision_hidden},
                                        {"vision_layers", o.vision_layers},
                                        {"vision_heads", o.vision_heads},
                                        {"text_hidden", o.text_hidden},
                                        {"text_layers", o.text_layers},
                                        {"text_heads", o.text_heads},
                                        {"mlp_ratio", o.mlp_ratio},
                                        {"max_positions", o.max_positions}});
  check_scratch_towers(kLlavaFamily, {o.image_size, o.patch_size, o.vision_hidden, o.vision_heads,
                                      o.text_hidden, o.text_heads, o.init_std, true});
}

std::vector<std::pair<std::string, at::Tensor>> random_llava_weights(
    const io::config::LlavaConfig& config, const ScratchLlavaOptions& o) {
  torch::manual_seed(o.seed);
  LlavaForConditionalGeneration model(config);
  return scratch_initialised_weights(*model, o.init_std);
}

}  // namespace

nlohmann::json scratch_llava_config(const ScratchLlavaOptions& o, int64_t vocab_size) {
  check_options(o);
  check_scratch_option(vocab_size >= 256 + static_cast<int64_t>(kSpecials.size()), kLlavaFamily,
                       "vocab_size", "must hold the 256 bytes and the specials");
  const SpecialIds id(vocab_size);
  const int64_t patches = (o.image_size / o.patch_size) * (o.image_size / o.patch_size);
  nlohmann::json text = scratch_llama_fields(
      {vocab_size, o.text_hidden, o.text_layers, o.text_heads, o.mlp_ratio, o.max_positions});
  text.update(nlohmann::json{{"model_type", "llama"},
                             {"bos_token_id", id.bos},
                             {"eos_token_id", id.eos},
                             {"pad_token_id", id.pad}});
  return {{"architectures", {"LlavaForConditionalGeneration"}},
          {"model_type", "llava"},
          {"image_token_index", id.image},
          {"image_seq_length", patches},
          {"projector_hidden_act", "gelu"},
          {"vision_feature_layer", -1},
          {"vision_feature_select_strategy", "default"},
          {"tie_word_embeddings", false},
          {"pad_token_id", id.pad},
          {"text_config", text},
          {"vision_config",
           scratch_clip_vision_config({o.image_size, o.patch_size, o.vision_hidden, o.vision_layers,
                                       o.vision_heads, o.mlp_ratio})}};
}

void write_scratch_llava(const std::string& dir, const ScratchLlavaOptions& o) {
  const ScratchVocabulary vocabulary =
      learn_scratch_vocabulary(o.corpus, kSpecials, text::SplitPattern::kLlama3);
  const int64_t vocab = vocabulary.size;
  const SpecialIds id(vocab);
  const nlohmann::json config = scratch_llava_config(o, vocab);
  io::SaveCheckpointOptions files;
  files.extra_files["tokenizer.json"] = vocabulary.tokenizer_json().dump();
  files.extra_files["preprocessor_config.json"] = scratch_preprocessor_config(o.image_size).dump(2);
  files.extra_files["generation_config.json"] = nlohmann::json{
      {"bos_token_id", id.bos},
      {"eos_token_id", id.eos},
      {"pad_token_id", id.pad}}.dump(2);
  files.extra_files["special_tokens_map.json"] = nlohmann::json{
      {"bos_token", "<s>"},
      {"eos_token", "</s>"},
      {"unk_token", "<unk>"},
      {"pad_token", "<pad>"}}.dump(2);
  io::save_hf_checkpoint(dir, random_llava_weights(io::config::parse_llava_config(config, dir), o),
                         config, files);
}

}  // namespace lavender::scratch
