// The parts of Hugging Face's tokenizer.json (and the tokenizer_config.json / added_tokens.json
// beside it) that every BPE flavour reads the same way: the BPE model's vocabulary and merges,
// the added tokens, the post-processor's template, and the names of BOS/EOS. The byte-level
// (byte_bpe_json.cpp) and SentencePiece-style (sp_bpe_json.cpp) loaders are built from these.
// Every error names the file and the part.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lavender/text/added_tokens.h"

namespace lavender::text::tokenizer_json {

using nlohmann::json;

// j["type"] when j is an object with a string type, "" otherwise.
std::string type_of(const json& j);
// j[key] when it is a boolean, `fallback` otherwise.
bool flag(const json& j, const char* key, bool fallback);

// The "model" object of a BPE tokenizer.json, checked for what neither loader implements
// (another model type, subword prefix/suffix, dropout).
const json& bpe_model(const json& root, const std::string& path);

// model.vocab (token -> id).
std::unordered_map<std::string, int64_t> read_vocab(const json& model, const std::string& path);
// model.merges: "a b" strings (older files) or ["a", "b"] pairs (tokenizers >= 0.20).
std::vector<std::pair<std::string, std::string>> read_merges(const json& model,
                                                             const std::string& path);

// tokenizer_config.json beside `path`, or null when there is none.
json read_tokenizer_config(const std::string& path);

// The added tokens as transformers assembles them for a fast tokenizer: tokenizer.json's
// added_tokens, then the entries of tokenizer_config.json's added_tokens_decoder and of
// added_tokens.json that it lacks (the latter as special, unnormalized tokens, as
// transformers reads them). The same content under two ids, or one id for two contents, is an
// error naming both files.
// `vocab` is the model's (read_vocab).
std::vector<AddedToken> read_added_tokens(const json& root, const std::string& path,
                                          const std::unordered_map<std::string, int64_t>& vocab,
                                          const json& tokenizer_config);

// What the post-processor puts around a single sequence (TemplateProcessing; ByteLevel adds
// nothing but offsets; Sequence of these).
struct Template {
  std::vector<int64_t> prefix_ids, suffix_ids;
};
Template read_post_processor(const json& post_processor, const std::string& path);

// tokenizer_config.json's "bos_token"-style entry: "<s>" or {"content": "<s>", ...}; "" if absent.
std::string config_token(const json& tokenizer_config, const char* key);

// The id of the first name found among the added tokens or in the vocabulary, or -1.
int64_t first_known(const std::vector<AddedToken>& added,
                    const std::unordered_map<std::string, int64_t>& vocab,
                    const std::vector<std::string>& names);

}  // namespace lavender::text::tokenizer_json
