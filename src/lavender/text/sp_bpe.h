// SentencePiece-style BPE as Hugging Face tokenizers runs a `tokenizer.json` converted from a
// SentencePiece model (Llama 2 and LLaVA-1.5, Mistral, Vicuna, ...): added tokens are cut out of
// the raw text, each run between them is normalized (e.g. Prepend "▁" + Replace " " -> "▁"), the
// normalized added tokens are cut out of that, then an optional Metaspace pre-tokenizer (" " ->
// "▁", prepend scheme always / first / never, optional split before each "▁"), and each word is
// BPE-merged over Unicode characters, lowest merge rank first, leftmost on ties. A character
// missing from the vocabulary becomes its UTF-8 bytes as "<0xNN>" tokens (byte_fallback), or the
// unknown token (consecutive ones fused when fuse_unk). Decoding runs the file's decoder chain
// (token_decoder.h) over the token strings.
//
// Thread-safe: encode/decode are const; the per-word cache is guarded by a mutex.
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
#include "lavender/text/text_normalizer.h"
#include "lavender/text/token_decoder.h"
#include "lavender/text/tokenizer.h"

namespace lavender::text {

struct SpBpeConfig {
  std::unordered_map<std::string, int64_t> vocab;
  std::vector<std::pair<std::string, std::string>> merges;  // in rank order
  std::vector<AddedToken> added_tokens;
  TextNormalizer normalizer;
  struct Metaspace {
    bool enabled = false;
    std::string replacement = "\xE2\x96\x81";  // U+2581 "▁"
    enum class Prepend { kAlways, kFirst, kNever } prepend = Prepend::kAlways;
    bool split = true;
  } metaspace;
  TokenDecoder decoder;
  bool byte_fallback = false, fuse_unk = false, ignore_merges = false;
  int64_t unk_id = -1;
  std::vector<int64_t> prefix_ids, suffix_ids;  // added around a sequence by encode(.., true)
  int64_t bos_id = -1, eos_id = -1;
};

class SpBpeTokenizer : public Tokenizer {
 public:
  // `source` names where the config came from, for errors (e.g. a merge with unknown tokens).
  SpBpeTokenizer(SpBpeConfig config, const std::string& source);

  std::vector<int64_t> encode(const std::string& text, bool add_special) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  std::string decode(const std::vector<int64_t>& ids, bool skip_special) const;
  int64_t token_to_id(const std::string& token) const override { return vocab_.token_to_id(token); }
  std::string id_to_token(int64_t id) const override;
  size_t vocab_size() const override { return vocab_.size(); }
  int64_t bos_id() const override { return bos_id_; }
  int64_t eos_id() const override { return eos_id_; }
  std::string kind() const override { return "sentencepiece-bpe"; }
  bool is_special(int64_t id) const;

  SpBpeTokenizer(const SpBpeTokenizer&) = delete;
  SpBpeTokenizer& operator=(const SpBpeTokenizer&) = delete;

 private:
  void append_run(std::string_view text, bool at_start, std::vector<int64_t>& ids) const;
  void append_word(std::string_view word, std::vector<int64_t>& ids) const;
  std::vector<int32_t> symbols_of(std::string_view word) const;
  std::vector<int32_t> merge(std::vector<int32_t> symbols) const;

  BpeVocabulary vocab_;
  // Normalized added tokens reach the decoder in their normalized form, as in tokenizers.
  std::unordered_map<int64_t, std::string> decoded_form_;
  int32_t byte_token_[256];  // "<0xNN>" ids, -1 where missing
  AddedTokenMatcher raw_added_, normalized_added_;
  TextNormalizer normalizer_;
  SpBpeConfig::Metaspace metaspace_;
  TokenDecoder decoder_;
  bool byte_fallback_, fuse_unk_, ignore_merges_;
  int64_t unk_id_;
  std::vector<int64_t> prefix_ids_, suffix_ids_;
  int64_t bos_id_, eos_id_;

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

// Loads a SentencePiece-style tokenizer.json: a BPE model (byte_fallback, unk_token, fuse_unk,
// ignore_merges; no dropout, no subword prefix/suffix), the normalizers of text_normalizer.h,
// pre-tokenizer null or Metaspace (prepend_scheme always/first/never, or the older
// add_prefix_space; split), post-processor TemplateProcessing (overridden by
// tokenizer_config.json's add_bos_token / add_eos_token when set, as transformers'
// LlamaTokenizerFast does), the decoders of token_decoder.h, and added tokens with their flags
// from the three places tokenizer_json.h names. Throws lavender::Error naming the file and the
// unsupported part otherwise.
std::unique_ptr<SpBpeTokenizer> load_sp_bpe_tokenizer(const nlohmann::json& root,
                                                      const std::string& path);

// Whether a parsed tokenizer.json is of this kind rather than byte-level (no ByteLevel
// pre-tokenizer anywhere).
bool is_sp_bpe_json(const nlohmann::json& root);

}  // namespace lavender::text
