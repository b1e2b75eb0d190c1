#include "lavender/scratch/scratch_open_flamingo.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "lavender/io/config/clip.h"
#include "lavender/io/config/mpt.h"
#include "lavender/io/config/open_flamingo.h"
#include "lavender/io/save_checkpoint.h"
#include "lavender/scratch/scratch_parts.h"
#include "lavender/util/error.h"
#include "lavender/vlm/open_flamingo.h"

namespace lavender::scratch {
namespace {

const char* const kFlamingoFamily = "OpenFlamingo";

// The language model's own special first, then OpenFlamingo's additions in its factory's order.
const std::vector<std::string> kFlamingoSpecials = {"<|endoftext|>", "<|endofchunk|>", "<image>",
                                                    "<PAD>"};

struct FlamingoSpecialIds {
  int64_t text_end, eoc, media, pad;
  explicit FlamingoSpecialIds(int64_t vocab)
      : text_end(vocab - 4), eoc(vocab - 3), media(vocab - 2), pad(vocab - 1) {}
};

void check_flamingo_options(const ScratchOpenFlamingoOptions& o) {
  check_scratch_positive(kFlamingoFamily, {{"image_size", o.image_size},
                                           {"patch_size", o.patch_size},
                                           {"vision_hidden", o.vision_hidden},
                                           {"vision_layers", o.vision_layers},
                                           {"vision_heads", o.vision_heads},
                                           {"perceiver_depth", o.perceiver_depth},
                                           {"perceiver_heads", o.perceiver_heads},
                                           {"perceiver_dim_head", o.perceiver_dim_head},
                                           {"num_latents", o.num_latents},
                                           {"text_hidden", o.text_hidden},
                                           {"text_layers", o.text_layers},
                                           {"text_heads", o.text_heads},
                                           {"cross_attn_every", o.cross_attn_every},
                                           {"xattn_heads", o.xattn_heads},
                                           {"xattn_dim_head", o.xattn_dim_head},
                                           {"mlp_ratio", o.mlp_ratio},
                                           {"max_positions", o.max_positions}});
  check_scratch_towers(kFlamingoFamily,
                       {o.image_size, o.patch_size, o.vision_hidden, o.vision_heads, o.text_hidden,
                        o.text_heads, o.init_std, false});
  check_scratch_option(o.cross_attn_every <= o.text_layers, kFlamingoFamily, "cross_attn_every",
                       std::to_string(o.cross_attn_every) + " leaves none of the " +
                           std::to_string(o.text_layers) +
                           " decoder blocks a gated cross-attention layer");
}

nlohmann::json scratch_mpt_config(const ScratchOpenFlamingoOptions& o, int64_t vocab_size) {
  // MPT-1B's choices (mosaic_gpt layout): ALiBi, LayerNorm over q and k, no biases.
  return {{"model_type", "mosaic_gpt"},
          {"architectures", {"MosaicGPT"}},
          {"d_model", o.text_hidden},
          {"n_heads", o.text_heads},
          {"n_layers", o.text_layers},
          {"mlp_ratio", o.mlp_ratio},
          {"max_seq_len", o.max_positions},
          {"vocab_size", vocab_size},
          {"alibi", true},
          {"alibi_bias_max", 8},
          {"attn_impl", "torch"},
          {"attn_qk_ln", true},
          {"no_bias", true},
          {"init_std", o.init_std},
          {"torch_dtype", "float32"}};
}

constexpr double kScratchGate = 1.0;

bool is_flamingo_gate(const std::string& name) {
  for (const char* suffix : {".attn_gate", ".ff_gate"}) {
    const std::string s(suffix);
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0)
      return true;
  }
  return false;
}

}  // namespace

nlohmann::json scratch_open_flamingo_config(const ScratchOpenFlamingoOptions& o,
                                            int64_t vocab_size) {
  check_flamingo_options(o);
  check_scratch_option(vocab_size >= 256 + static_cast<int64_t>(kFlamingoSpecials.size()),
                       kFlamingoFamily, "vocab_size", "must hold the 256 bytes and the specials");
  const FlamingoSpecialIds id(vocab_size);
  io::config::OpenFlamingoConfig c;
  c.media_token_id = id.media;
  c.eoc_token_id = id.eoc;
  c.pad_token_id = id.pad;
  c.vocab_size = vocab_size;
  c.vis_dim = o.vision_hidden;
  c.cross_attn_every_n_layers = o.cross_attn_every;
  c.perceiver = {o.perceiver_depth, o.perceiver_heads, o.perceiver_dim_head, o.num_latents,
                 o.mlp_ratio};
  c.gated_xattn.heads = o.xattn_heads;
  c.gated_xattn.dim_head = o.xattn_dim_head;
  c.gated_xattn.ff_mult = o.mlp_ratio;
  nlohmann::json j = nlohmann::json::parse(io::config::open_flamingo_config_json(c).dump());
  // The saved layout: the parts' configs inline, no part folders or release checkpoint.
  for (const char* part : {"vision", "lang", "checkpoint"}) j.erase(std::string(part));
  j["vision_config"] = scratch_clip_vision_config(
      {o.image_size, o.patch_size, o.vision_hidden, o.vision_layers, o.vision_heads, o.mlp_ratio});
  j["lang_config"] = scratch_mpt_config(o, vocab_size);
  return j;
}

void write_scratch_open_flamingo(const std::string& dir, const ScratchOpenFlamingoOptions& o) {
  const ScratchVocabulary vocabulary =
      learn_scratch_vocabulary(o.corpus, kFlamingoSpecials, text::SplitPattern::kGpt2);
  const FlamingoSpecialIds id(vocabulary.size);
  const nlohmann::json config = scratch_open_flamingo_config(o, vocabulary.size);
  const std::string source = dir + "/config.json";
  const auto flamingo = io::config::parse_open_flamingo_config(config, source);
  const auto vision = io::config::parse_clip_vision_config(config["vision_config"], source);
  const auto lang = io::config::parse_mpt_config(config["lang_config"], source);

  torch::manual_seed(o.seed);
  vlm::OpenFlamingo model(flamingo, vision, lang,
                          io::config::gated_layer_indices(flamingo, lang.n_layers));
  auto weights = scratch_initialised_weights(*model, o.init_std);
  {
    torch::NoGradGuard no_grad;
    for (auto& [name, t] : weights) {
      if (name == "perceiver.latents") t.normal_(0, 1);  // the release's torch.randn
      // The release starts its gates at 0 (tanh(0) = 0) to keep a pretrained, frozen LM's
      // behaviour at first. From scratch there is nothing to keep, and a closed gate is a
      // saddle: the gate's gradient scales with the branch's small random output and the
      // branch's with tanh(gate) = 0. On the shapes world's caption pretraining (600 steps, lr
      // 2e-3) closed gates stayed at |g| < 0.1 and the loss lagged the scratch LLaVA's (0.92 vs
      // 0.69 at step 200, 0.57 vs 0.52 at 600); open ones (tanh(1) ≈ 0.76, the layers plain
      // residual branches) gave 0.75 and 0.53.
      if (is_flamingo_gate(name)) t.fill_(kScratchGate);
    }
  }

  io::SaveCheckpointOptions files;
  files.extra_files["tokenizer.json"] = vocabulary.tokenizer_json().dump();
  files.extra_files["preprocessor_config.json"] = scratch_preprocessor_config(o.image_size).dump(2);
  files.extra_files["generation_config.json"] =
      nlohmann::json{{"eos_token_id", id.eoc}, {"pad_token_id", id.pad}}.dump(2);
  files.extra_files["special_tokens_map.json"] = nlohmann::json{
      {"bos_token", "<|endoftext|>"},
      {"eos_token", "<|endoftext|>"},
      {"unk_token", "<|endoftext|>"},
      {"pad_token", "<PAD>"},
      {"additional_special_tokens",
       {"<|endofchunk|>", "<image>"}}}.dump(2);
  io::save_hf_checkpoint(dir, weights, config, files);
}

}  // namespace lavender::scratch
