// A LLaVA-architecture model initialised from scratch, written as a Hugging Face folder that the
// rest of lavender (and transformers) load like any downloaded checkpoint: config.json,
// generation_config.json, a byte-level tokenizer.json, preprocessor_config.json and random
// weights. The shapes-world demo pretrains and fine-tunes it with the same code paths as a real
// LLaVA-1.5; only the sizes differ.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace lavender::scratch {

struct ScratchLlavaOptions {
  int64_t image_size =
      64;  // square input; the vision tower sees (image_size / patch_size)² patches
  int64_t patch_size = 8;
  int64_t vision_hidden = 64;
  int64_t vision_layers = 2;
  int64_t vision_heads = 4;
  int64_t text_hidden = 64;
  int64_t text_layers = 3;
  int64_t text_heads = 4;
  int64_t mlp_ratio = 4;  // intermediate size = mlp_ratio × hidden, in both towers
  int64_t max_positions = 512;
  double init_std = 0.02;  // weight matrices and embeddings ~ N(0, init_std²); biases 0; norms 1
  uint64_t seed = 0;
  // Texts (conversations as the chat format renders them) the tokenizer learns its merges from;
  // empty: bytes only. Every piece of the corpus becomes one token.
  std::vector<std::string> corpus;
};

// The folder's config.json for a vocabulary of `vocab_size` whose top five ids are the specials
// (model_type "llava", vision feature = the last encoder layer, since a model trained from
// scratch has no reason to skip its top layer as CLIP-pretrained LLaVA does).
nlohmann::json scratch_llava_config(const ScratchLlavaOptions& options, int64_t vocab_size = 264);

// Writes the folder atomically (a hidden sibling renamed into place). The vocabulary is the 256
// bytes, the corpus's merged tokens and LLaVA's specials ("<unk>", "<s>", "</s>", "<pad>",
// "<image>", the top ids), padded to a multiple of 8; "</s>" ends replies.
// Throws lavender::Error for sizes that do not fit together (patch not dividing the image, heads
// not dividing the width) naming the option.
void write_scratch_llava(const std::string& dir, const ScratchLlavaOptions& options);

}  // namespace lavender::scratch
