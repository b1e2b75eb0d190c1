// An OpenFlamingo initialised from scratch (CLIP-style vision tower, Perceiver resampler, MPT
// decoder with gated cross-attention), written in the layout lavender saves a fine-tuned
// OpenFlamingo in: a root config.json carrying the OpenFlamingo fields with "vision_config" and
// "lang_config" inline, one safetensors checkpoint of the whole model under its module names, a
// byte-level tokenizer.json and preprocessor_config.json. vlm::load_open_flamingo, ChatModel and
// `lavender train` read it like any OpenFlamingo; the shapes world trains it as it trains the
// scratch LLaVA, so the two readings of its latents (--latent-maps) can be measured.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace lavender::scratch {

struct ScratchOpenFlamingoOptions {
  // Vision tower, as the scratch LLaVA's: (image_size / patch_size)² patch tokens.
  int64_t image_size = 64;
  int64_t patch_size = 8;
  int64_t vision_hidden = 64;
  int64_t vision_layers = 2;
  int64_t vision_heads = 4;
  // Perceiver: 16 latents for 64 patches keeps the release's ratio (64 latents for ViT-L/14's
  // 256), and is a square, so the "square" reading has a 4×4 raster.
  int64_t perceiver_depth = 2;
  int64_t perceiver_heads = 4;
  int64_t perceiver_dim_head = 16;
  int64_t num_latents = 16;
  // MPT decoder, a gated cross-attention layer before every cross_attn_every-th block.
  int64_t text_hidden = 64;
  int64_t text_layers = 3;
  int64_t text_heads = 4;
  int64_t cross_attn_every = 1;
  int64_t xattn_heads = 4;
  int64_t xattn_dim_head = 16;
  int64_t mlp_ratio = 4;  // MLP width ÷ width in the vision tower, Perceiver, gated layers, MPT
  int64_t max_positions = 512;
  double init_std = 0.02;  // matrices and embeddings ~ N(0, init_std²); biases 0; norms 1
  uint64_t seed = 0;
  // Texts (conversations in the openflamingo chat format) the tokenizer learns merges from;
  // empty: bytes only.
  std::vector<std::string> corpus;
};

// The folder's config.json for a vocabulary of `vocab_size` whose top four ids are
// "<|endoftext|>", "<|endofchunk|>", "<image>", "<PAD>". Throws lavender::Error naming the option
// for sizes that do not fit together.
nlohmann::json scratch_open_flamingo_config(const ScratchOpenFlamingoOptions& options,
                                            int64_t vocab_size = 264);

// Writes the folder atomically. The tokenizer splits text as MPT's (GPT-NeoX's, GPT-2's pattern)
// does, learns one token per piece of the corpus, and ends with "<|endoftext|>" (the language
// model's own special) followed by the tokens OpenFlamingo's factory adds, in its order:
// "<|endofchunk|>", "<image>", then "<PAD>" since the tokenizer has no pad token
// (text/open_flamingo_tokens.h); replies end at "<|endofchunk|>". Weights: the scratch rule
// (scratch_parts.h), the Perceiver's latents ~ N(0, 1) as the release has them, and the gates
// open (1, not the release's 0, which protects a pretrained LM and stalls one trained from
// scratch; see the .cpp).
void write_scratch_open_flamingo(const std::string& dir, const ScratchOpenFlamingoOptions& options);

}  // namespace lavender::scratch
