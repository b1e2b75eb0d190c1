// A byte-level BPE tokenizer.json without merges: every byte is its own token (ids 0–255), the
// given special tokens take the highest ids, and filler entries pad the vocabulary to the
// model's size so that any id a model emits decodes. Models trained from scratch (the shapes
// world, benchmarks, tests) use it; it splits text as Llama 3 does, so word segmentation and
// chat templates behave as with a real tokenizer.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lavender/text/bpe_trainer.h"
#include "lavender/text/split_pattern.h"

namespace lavender::text {

// Llama 3's pre-tokenizer as tokenizer.json writes it: the split pattern, then byte-level mapping.
nlohmann::json llama3_byte_level_pre_tokenizer();

// The pre-tokenizer of `pattern` as tokenizer.json writes it: Llama 3's above, or GPT-2's
// (ByteLevel with its own regex, as GPT-NeoX's and MPT's tokenizers have it).
nlohmann::json byte_level_pre_tokenizer(SplitPattern pattern);

// Throws lavender::Error when vocab_size cannot hold the 256 bytes, the merged tokens (ids from
// 256 in merge order) and the specials. `pattern`: how text is split before the merges (learn
// the merges with the same one).
nlohmann::json byte_level_tokenizer_json(int64_t vocab_size,
                                         const std::vector<std::string>& special_tokens,
                                         const BpeMerges& merges = {},
                                         SplitPattern pattern = SplitPattern::kLlama3);

// Merges learnt from `texts` as this tokenizer reads them (the split, Llama 3's by default, then
// bytes in GPT-2's alphabet): with no limit every piece of the corpus (" red", " ASSISTANT", "?")
// becomes one token, so a model trained from scratch on that corpus sees short sequences.
BpeMerges learn_byte_level_merges(const std::vector<std::string>& texts,
                                  const BpeTrainOptions& options = {},
                                  SplitPattern pattern = SplitPattern::kLlama3);

// How many vocabulary entries the merges add beyond the 256 bytes.
int64_t merged_token_count(const BpeMerges& merges);

}  // namespace lavender::text
