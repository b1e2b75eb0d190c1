#include "lavender/scratch/scratch_minicpmv.h"

#include <torch/torch.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "lavender/io/config/minicpmv.h"
#include "lavender/io/save_checkpoint.h"
#include "lavender/scratch/scratch_parts.h"
#include "lavender/util/error.h"
#include "lavender/vlm/minicpmv.h"

namespace lavender::scratch {
namespace {

const char* const kMiniCpmVFamily = "MiniCPM-V";

// Llama 3's specials the minicpm-v chat format writes, then the ones the release's prompt adds
// around each picture (vlm/minicpmv_prompt.h). They take the top ids, in this order.
const std::vector<std::string> kMiniCpmVSpecials = {
    "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
    "<|end_header_id|>", "<|eot_id|>",      "<unk>",
    "<image>",           "</image>",        "<slice>",
    "</slice>"};

int64_t minicpmv_special_id(int64_t vocab, const std::string& token) {
  for (size_t k = 0; k < kMiniCpmVSpecials.size(); ++k)
    if (kMiniCpmVSpecials[k] == token)
      return vocab - static_cast<int64_t>(kMiniCpmVSpecials.size()) + static_cast<int64_t>(k);
  throw Error("scratch MiniCPM-V: no special token " + token);
}

void check_minicpmv_options(const ScratchMiniCpmVOptions& o) {
  check_scratch_positive(kMiniCpmVFamily, {{"image_size", o.image_size},
                                           {"patch_size", o.patch_size},
                                           {"max_slice_nums", o.max_slice_nums},
                                           {"vision_hidden", o.vision_hidden},
                                           {"vision_layers", o.vision_layers},
                                           {"vision_heads", o.vision_heads},
                                           {"position_side", o.position_side},
                                           {"query_num", o.query_num},
                                           {"text_hidden", o.text_hidden},
                                           {"text_layers", o.text_layers},
                                           {"text_heads", o.text_heads},
                                           {"mlp_ratio", o.mlp_ratio},
                                           {"max_positions", o.max_positions}});
  check_scratch_towers(kMiniCpmVFamily,
                       {o.image_size, o.patch_size, o.vision_hidden, o.vision_heads, o.text_hidden,
                        o.text_heads, o.init_std, true});
  check_scratch_option(o.text_hidden % 128 == 0, kMiniCpmVFamily, "text_hidden",
                       std::to_string(o.text_hidden) +
                           " is not a multiple of 128 (the resampler has text_hidden / 128 heads)");
}

}  // namespace

nlohmann::json scratch_minicpmv_config(const ScratchMiniCpmVOptions& o, int64_t vocab_size) {
  check_minicpmv_options(o);
  check_scratch_option(vocab_size >= 256 + static_cast<int64_t>(kMiniCpmVSpecials.size()),
                       kMiniCpmVFamily, "vocab_size", "must hold the 256 bytes and the specials");
  // The release's config.json: the Llama fields at the top, the tower's inside.
  nlohmann::json j = scratch_llama_fields(
      {vocab_size, o.text_hidden, o.text_layers, o.text_heads, o.mlp_ratio, o.max_positions});
  j.update(nlohmann::json{{"architectures", {"MiniCPMV"}},
                          {"model_type", "minicpmv"},
                          {"version", "2.5"},
                          {"rope_theta", 500000.0},
                          {"hidden_act", "silu"},
                          {"bos_token_id", minicpmv_special_id(vocab_size, "<|begin_of_text|>")},
                          {"eos_token_id", minicpmv_special_id(vocab_size, "<|end_of_text|>")},
                          {"query_num", o.query_num},
                          {"image_size", o.image_size},
                          {"patch_size", o.patch_size},
                          {"batch_vision_input", true},
                          {"drop_vision_last_layer", false},
                          {"slice_mode", true},
                          {"mm_use_im_start_end", true},
                          {"slice_config",
                           {{"model_type", "minicpmv"},
                            {"max_slice_nums", o.max_slice_nums},
                            {"patch_size", o.patch_size},
                            {"scale_resolution", o.image_size}}},
                          {"vision_config",
                           {{"model_type", "idefics2"},
                            {"hidden_size", o.vision_hidden},
                            {"intermediate_size", o.mlp_ratio * o.vision_hidden},
                            {"num_hidden_layers", o.vision_layers},
                            {"num_attention_heads", o.vision_heads},
                            {"image_size", o.position_side * o.patch_size},
                            {"patch_size", o.patch_size},
                            {"num_channels", 3},
                            {"hidden_act", "gelu_pytorch_tanh"},
                            {"layer_norm_eps", 1e-6}}},
                          {"torch_dtype", "float32"}});
  return j;
}

void write_scratch_minicpmv(const std::string& dir, const ScratchMiniCpmVOptions& o) {
  const ScratchVocabulary vocabulary =
      learn_scratch_vocabulary(o.corpus, kMiniCpmVSpecials, text::SplitPattern::kLlama3);
  const int64_t vocab = vocabulary.size;
  const nlohmann::json config = scratch_minicpmv_config(o, vocab);
  const auto parsed = io::config::parse_minicpmv_config(config, dir + "/config.json");

  torch::manual_seed(o.seed);
  vlm::MiniCpmV model(parsed);
  auto weights = scratch_initialised_weights(*model, o.init_std);
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : weights)  // the release: (embed_dim ** -0.5) * torch.randn(...)
      if (name == "resampler.proj") t.normal_(0, 1.0 / std::sqrt(double(o.text_hidden)));
  }

  io::SaveCheckpointOptions files;
  files.extra_files["tokenizer.json"] = vocabulary.tokenizer_json().dump();
  // MiniCPMVImageProcessor's file: one <unk> per resampled query in each picture's placeholder.
  files.extra_files["preprocessor_config.json"] = nlohmann::json{
      {"image_processor_type", "MiniCPMVImageProcessor"},
      {"max_slice_nums", o.max_slice_nums},
      {"scale_resolution", o.image_size},
      {"patch_size", o.patch_size},
      {"image_feature_size", o.query_num},
      {"im_start", "<image>"},
      {"im_end", "</image>"},
      {"slice_start", "<slice>"},
      {"slice_end", "</slice>"},
      {"unk", "<unk>"},
      {"norm_mean", {0.5, 0.5, 0.5}},
      {"norm_std", {0.5, 0.5, 0.5}},
      {"version", 2.5}}.dump(2);
  // The release's chat() ends a reply at either terminator.
  files.extra_files["generation_config.json"] = nlohmann::json{
      {"bos_token_id", minicpmv_special_id(vocab, "<|begin_of_text|>")},
      {"eos_token_id",
       {minicpmv_special_id(vocab, "<|end_of_text|>"),
        minicpmv_special_id(vocab, "<|eot_id|>")}}}.dump(2);
  files.extra_files["special_tokens_map.json"] = nlohmann::json{
      {"bos_token", "<|begin_of_text|>"},
      {"eos_token", "<|end_of_text|>"},
      {"unk_token", "<unk>"}}.dump(2);
  io::save_hf_checkpoint(dir, weights, config, files);
}

}  // namespace lavender::scratch
