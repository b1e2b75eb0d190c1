// A MiniCPM-Llama3-V 2.5 initialised from scratch, as a Hugging Face folder in the release's
// layout (config.json with model_type "minicpmv" and its slice_config, model.safetensors under
// the Hub names llm.* / vpm.* / resampler.*, preprocessor_config.json, a byte-level tokenizer.json
// with the release's special tokens). vlm::load_minicpmv, ChatModel and `lavender train` read it
// as they read the release, so the shapes world can train it and the ways its resampled tokens
// are read as maps (--latent-maps, the source and slice views) can be measured.
//
// Its default sizes keep the release's proportions at the shapes world's scale: each picture
// (the source image, and each slice) is about image_size² pixels — 32², so a 64-pixel world
// image is cut into 2 × 2 slices beside its 32-pixel source, as the release cuts a 896-pixel
// photo at 448 — read as 8 × 8 patches of 4 pixels and resampled into 16 queries (the release: 32
// × 32 patches into 96). The tower's position table is 16 patches a side, so 2.5's one-row
// position buckets hold 4 patches each (the release's 70-wide table gives 1024 patches ~15 each).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace lavender::scratch {

struct ScratchMiniCpmVOptions {
  // The processor's scale_resolution: the source picture and each slice hold about image_size²
  // pixels; images larger than that are sliced (up to max_slice_nums slices).
  int64_t image_size = 32;
  int64_t patch_size = 4;
  int64_t max_slice_nums = 9;
  // SigLIP-style tower (Idefics2 form); its position table is position_side² entries.
  int64_t vision_hidden = 64;
  int64_t vision_layers = 2;
  int64_t vision_heads = 4;
  int64_t position_side = 16;
  int64_t query_num = 16;  // resampled tokens per picture (a square: `--latent-maps square`)
  // Llama 3 decoder. The release's resampler has text_hidden / 128 heads, so text_hidden is a
  // multiple of 128.
  int64_t text_hidden = 128;
  int64_t text_layers = 3;
  int64_t text_heads = 4;
  int64_t mlp_ratio = 4;  // MLP width ÷ width, in both towers
  int64_t max_positions = 512;
  double init_std = 0.02;  // matrices and embeddings ~ N(0, init_std²); biases 0; norms 1
  uint64_t seed = 0;
  // Texts (conversations in the minicpm-v chat format) the tokenizer learns merges from; empty:
  // bytes only.
  std::vector<std::string> corpus;
};

// The folder's config.json for a vocabulary of `vocab_size` whose top ids are the specials
// (scratch_minicpmv.cpp lists them). Throws lavender::Error naming the option for sizes that do
// not fit together.
nlohmann::json scratch_minicpmv_config(const ScratchMiniCpmVOptions& options,
                                       int64_t vocab_size = 272);

// Writes the folder atomically. Weights: the scratch rule (scratch_parts.h), with the resampler's
// output projection ~ N(0, 1/text_hidden) as the release draws it.
void write_scratch_minicpmv(const std::string& dir, const ScratchMiniCpmVOptions& options);

}  // namespace lavender::scratch
