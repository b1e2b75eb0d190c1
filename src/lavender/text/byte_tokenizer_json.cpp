#include "lavender/text/byte_tokenizer_json.h"

#include <map>
#include <set>

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

nlohmann::json byte_level_pre_tokenizer(SplitPattern pattern) {
  if (pattern == SplitPattern::kLlama3) return llama3_byte_level_pre_tokenizer();
  return {{"type", "ByteLevel"},
          {"add_prefix_space", false},
          {"trim_offsets", true},
          {"use_regex", true}};
}

nlohmann::json byte_level_tokenizer_json(int64_t vocab_size,
                                         const std::vector<std::string>& special_tokens,
                                         const BpeMerges& merges, SplitPattern pattern) {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_alphabet()[b]] = b;
  nlohmann::json merge_list = nlohmann::json::array();
  int64_t next = 256;
  for (const auto& [left, right] : merges) {
    merge_list.push_back(left + " " + right);
    if (!vocab.contains(left + right)) vocab[left + right] = next++;
  }
  const int64_t specials = static_cast<int64_t>(special_tokens.size());
  if (vocab_size < next + specials)
    throw Error("byte-level tokenizer: a vocabulary of " + std::to_string(vocab_size) +
                " cannot hold 256 bytes, " + std::to_string(next - 256) + " merged tokens and " +
                std::to_string(specials) + " special tokens");
  const int64_t first_special = vocab_size - specials;
  // Fillers: ids no text produces, so that any id a model emits decodes.
  for (int64_t i = next; i < first_special; ++i) {
    std::string name = "~" + std::to_string(i);
    while (vocab.contains(name)) name += "~";
    vocab[name] = i;
  }
  nlohmann::json added = nlohmann::json::array();
  for (int64_t i = 0; i < specials; ++i)
    added.push_back({{"id", first_special + i},
                     {"content", special_tokens[static_cast<size_t>(i)]},
                     {"special", true}});
  return {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}}},
          {"normalizer", nullptr},
          {"pre_tokenizer", byte_level_pre_tokenizer(pattern)},
          {"added_tokens", added},
          {"post_processor", nullptr},
          {"decoder", {{"type", "ByteLevel"}}}};
}

BpeMerges learn_byte_level_merges(const std::vector<std::string>& texts,
                                  const BpeTrainOptions& options, SplitPattern pattern) {
  std::map<std::string, int64_t> counts;
  for (const auto& t : texts)
    for (std::string_view piece : split_text(t, pattern)) ++counts[std::string(piece)];
  std::vector<BpeWord> words;
  words.reserve(counts.size());
  for (const auto& [piece, count] : counts) {
    BpeWord w;
    w.count = count;
    for (unsigned char c : piece) w.symbols.push_back(byte_alphabet()[c]);
    words.push_back(std::move(w));
  }
  return learn_bpe_merges(std::move(words), options);
}

int64_t merged_token_count(const BpeMerges& merges) {
  std::set<std::string> tokens;  // two merges can give the same token ("ab"+"c", "a"+"bc")
  for (const auto& [left, right] : merges) tokens.insert(left + right);
  return static_cast<int64_t>(tokens.size());
}

}  // namespace lavender::text
