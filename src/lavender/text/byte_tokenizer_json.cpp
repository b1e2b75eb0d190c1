#include "lavender/text/byte_tokenizer_json.h"

#include "lavender/text/clip_tokenizer.h"
#include "lavender/text/split_pattern.h"
#include "lavender/util/error.h"

namespace lavender::text {

nlohmann::json llama3_byte_level_pre_tokenizer() {
  return {{"type", "Sequence"},
          {"pretokenizers",
           {{{"type", "Split"},
             {"pattern", {{"Regex", split_pattern_regex(SplitPattern::kLlama3)}}},
             {"behavior", "Isolated"},
             {"invert", false}},
            {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
}

nlohmann::json byte_level_tokenizer_json(int64_t vocab_size,
                                         const std::vector<std::string>& special_tokens) {
  const int64_t specials = static_cast<int64_t>(special_tokens.size());
  if (vocab_size < 256 + specials)
    throw Error("byte-level tokenizer: a vocabulary of " + std::to_string(vocab_size) +
                " cannot hold 256 bytes and " + std::to_string(specials) + " special tokens");
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_alphabet()[b]] = b;
  const int64_t first_special = vocab_size - specials;
  for (int64_t i = 256; i < first_special; ++i) vocab["~" + std::to_string(i)] = i;
  nlohmann::json added = nlohmann::json::array();
  for (int64_t i = 0; i < specials; ++i)
    added.push_back({{"id", first_special + i},
                     {"content", special_tokens[static_cast<size_t>(i)]},
                     {"special", true}});
  return {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}},
          {"normalizer", nullptr},
          {"pre_tokenizer", llama3_byte_level_pre_tokenizer()},
          {"added_tokens", added},
          {"post_processor", nullptr},
          {"decoder", {{"type", "ByteLevel"}}}};
}

}  // namespace lavender::text
