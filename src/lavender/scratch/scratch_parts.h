// What the from-scratch models (scratch_llava.h, scratch_open_flamingo.h) have in common: the
// CLIP-style vision tower's config, the plain [-1, 1] preprocessing, a byte-level tokenizer whose
// merges are learnt from the training corpus with the family's specials on top, and the
// initialisation rule transformers applies to random weights.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "lavender/text/bpe_trainer.h"
#include "lavender/text/split_pattern.h"

namespace torch::nn {
class Module;
}

namespace lavender::scratch {

// Throws lavender::Error "scratch <family>: <option>: <problem>" unless `ok`.
void check_scratch_option(bool ok, const std::string& family, const std::string& option,
                          const std::string& problem);
// Each named size must be positive.
void check_scratch_positive(const std::string& family,
                            std::initializer_list<std::pair<const char*, int64_t>> sizes);
// `divisor` must divide `value`; the error names `divisor_name`.
void check_scratch_divides(const std::string& family, const char* divisor_name, int64_t divisor,
                           const char* value_name, int64_t value);

// What every family checks of its two towers: patches tile the image, heads divide the widths,
// init_std is positive, and (rotary decoders: LLaVA's and MiniCPM-V's Llama) the decoder's head
// width is even.
struct ScratchTowerSizes {
  int64_t image_size, patch_size, vision_hidden, vision_heads, text_hidden, text_heads;
  double init_std;
  bool rotary;
};
void check_scratch_towers(const std::string& family, const ScratchTowerSizes& sizes);

struct ScratchVisionSizes {
  int64_t image_size, patch_size, hidden, layers, heads, mlp_ratio;
};
// A CLIPVisionModel config.json (quick_gelu, as CLIP's) of these sizes.
nlohmann::json scratch_clip_vision_config(const ScratchVisionSizes& sizes);

// A Llama decoder's config fields (LLaVA's text_config, MiniCPM-V's top level): full multi-head
// attention, MLP mlp_ratio × hidden, untied embeddings.
struct ScratchLlamaSizes {
  int64_t vocab_size, hidden, layers, heads, mlp_ratio, max_positions;
};
nlohmann::json scratch_llama_fields(const ScratchLlamaSizes& sizes);

// preprocessor_config.json: CLIP's processor at `size` with plain [-1, 1] scaling, since a model
// trained from scratch has no CLIP statistics to match.
nlohmann::json scratch_preprocessor_config(int64_t size);

// A byte-level vocabulary learnt from `corpus`: 256 bytes, one token per merged piece, then
// fillers, and `specials` on the top ids in their order; the size is a multiple of 8.
struct ScratchVocabulary {
  text::BpeMerges merges;
  std::vector<std::string> specials;
  text::SplitPattern pattern = text::SplitPattern::kLlama3;
  int64_t size = 0;
  int64_t special_id(size_t k) const {  // the id of specials[k]
    return size - static_cast<int64_t>(specials.size()) + static_cast<int64_t>(k);
  }
  nlohmann::json tokenizer_json() const;
};
ScratchVocabulary learn_scratch_vocabulary(const std::vector<std::string>& corpus,
                                           std::vector<std::string> specials,
                                           text::SplitPattern pattern);

// The module's parameters initialised as transformers initialises random models: matrices and
// embeddings ~ N(0, std²), biases 0, everything else (norm weights, gates, class embeddings) as
// the module's constructor left it. Seed the generator before building the module.
std::vector<std::pair<std::string, at::Tensor>> scratch_initialised_weights(
    torch::nn::Module& module, double std);

}  // namespace lavender::scratch
