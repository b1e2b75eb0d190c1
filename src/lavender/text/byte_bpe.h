// Byte-level BPE as Hugging Face tokenizers runs a `tokenizer.json` of Llama 3 / GPT-2 style
// (and as tiktoken runs its rank files): added tokens are cut out of the text first, the rest is
// split by the pre-tokenizer's pattern (split_pattern.h), each piece's UTF-8 bytes are mapped to
// GPT-2's byte alphabet and merged pair by pair, lowest rank first, leftmost first on ties.
// With `ignore_merges` a piece that is itself in the vocabulary is that one token (this is what
// makes Llama 3's ids equal tiktoken's). Invalid UTF-8 input never throws: each invalid sequence
// becomes U+FFFD first.
//
// Thread-safe: encode/decode are const; the per-piece cache is guarded by a mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lavender/text/added_tokens.h"
#include "lavender/text/bpe_vocabulary.h"
#include "lavender/text/split_pattern.h"
#include "lavender/text/tokenizer.h"

namespace lavender::text {

struct ByteBpeConfig {
  std::unordered_map<std::string, int64_t> vocab;  // byte-alphabet strings -> ids
  // (left, right) pairs in rank order; both and their join must be in the vocabulary.
  std::vector<std::pair<std::string, std::string>> merges;
  // Each merge's rank; empty means the list order (tiktoken ranks give several pairs one rank).
  std::vector<int32_t> merge_ranks;
  std::vector<AddedToken> added_tokens;
  SplitPattern pattern = SplitPattern::kLlama3;
  bool add_prefix_space = false;  // ByteLevel's: a space before text not starting with one
  bool ignore_merges = false;
  std::vector<int64_t> prefix_ids, suffix_ids;  // added around a sequence by encode(.., true)
  int64_t bos_id = -1, eos_id = -1;
};

class ByteBpeTokenizer : public Tokenizer {
 public:
  // `source` names where the config came from, for errors (e.g. a merge with unknown tokens).
  ByteBpeTokenizer(ByteBpeConfig config, const std::string& source);

  std::vector<int64_t> encode(const std::string& text, bool add_special) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t token_to_id(const std::string& token) const override { return vocab_.token_to_id(token); }
  std::string id_to_token(int64_t id) const override;
  size_t vocab_size() const override { return vocab_.size(); }
  int64_t bos_id() const override { return bos_id_; }
  int64_t eos_id() const override { return eos_id_; }
  std::string kind() const override { return "byte-bpe"; }
  // Whether `id` is an added token marked special (skipped by decode(ids, true)).
  bool is_special(int64_t id) const;
  std::string decode(const std::vector<int64_t>& ids, bool skip_special) const;
  // Forgets the per-piece cache (benchmarks measure the cold tokenizer with it).
  void clear_cache() const;

  ByteBpeTokenizer(const ByteBpeTokenizer&) = delete;
  ByteBpeTokenizer& operator=(const ByteBpeTokenizer&) = delete;

 private:
  void append_plain(std::string_view text, std::vector<int64_t>& ids) const;
  void append_piece(std::string_view piece, std::vector<int64_t>& ids) const;
  std::vector<int32_t> bpe(std::string_view piece) const;

  BpeVocabulary vocab_;
  int32_t byte_symbol_[256] = {};
  AddedTokenMatcher added_;
  SplitPattern pattern_;
  bool add_prefix_space_, ignore_merges_;
  std::vector<int64_t> prefix_ids_, suffix_ids_;
  int64_t bos_id_, eos_id_;

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

// Loads a tokenizer.json with a byte-level BPE model (Llama 3, GPT-2 style). Supported:
// model BPE without byte fallback / suffixes / dropout, no normalizer, pre-tokenizer Split with
// the Llama 3 pattern + ByteLevel(use_regex=false) or ByteLevel(use_regex=true), post-processor
// TemplateProcessing / ByteLevel / a Sequence of them, decoder ByteLevel, added tokens with all
// their flags (tokenizer_json.h says from where). When the file's folder has
// tokenizer_config.json, its bos_token / eos_token name those ids. Throws lavender::Error
// naming the file and the unsupported part otherwise.
std::unique_ptr<ByteBpeTokenizer> load_byte_bpe_tokenizer(const std::string& path);
// The same from an already parsed document; `path` names it and locates tokenizer_config.json.
std::unique_ptr<ByteBpeTokenizer> load_byte_bpe_tokenizer(const nlohmann::json& root,
                                                          const std::string& path);

// tiktoken's rank file ("<base64 token> <rank>" lines, e.g. cl100k_base.tiktoken) with the given
// pattern and special tokens (content -> id); no BOS is added.
std::unique_ptr<ByteBpeTokenizer> load_tiktoken_ranks(
    const std::string& path, SplitPattern pattern,
    const std::vector<std::pair<std::string, int64_t>>& special_tokens);

}  // namespace lavender::text
