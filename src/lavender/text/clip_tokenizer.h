// The CLIP byte-level BPE tokenizer of every Stable Diffusion 1.x/2.x text encoder, matching
// OpenAI's `simple_tokenizer.py` (and Hugging Face's CLIPTokenizer) id for id.
//
// Text is cleaned (ftfy subset, html.unescape twice, whitespace collapsed, lower-cased), split
// with CLIP's pattern into words, each word's UTF-8 bytes mapped to GPT-2's byte alphabet, and
// BPE-merged by rank with "</w>" marking the word's last symbol. See unicode.h for exactly what
// the clean-up does. Invalid UTF-8 never throws: each invalid sequence becomes U+FFFD first.
//
// Thread-safe: encode/decode are const; the per-word cache is guarded by a mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace lavender::text {

class ClipTokenizer {
 public:
  // `vocab` maps token strings to ids; `merges` are (left, right) pairs in rank order, and each
  // joined pair must be in the vocabulary. Specials "<|startoftext|>"/"<|endoftext|>" must be.
  // `source` names where they came from (for errors); `pad_token` defaults to <|endoftext|>.
  ClipTokenizer(std::unordered_map<std::string, int64_t> vocab,
                const std::vector<std::pair<std::string, std::string>>& merges,
                const std::string& source, const std::string& pad_token = "");

  // Ids of the text's tokens, without special tokens.
  std::vector<int64_t> encode(const std::string& text) const;

  struct Encoding {
    std::vector<int64_t> ids;        // <|startoftext|> tokens <|endoftext|> [pad...]
    std::vector<int> word_of_token;  // per position: index into `words`, or -1 (special, pad)
    std::vector<std::string> words;  // decoded words, e.g. "astronaut"
    bool truncated = false;          // tokens were dropped to fit max_length
  };
  // The text encoder's input: start token, tokens, end token, padded with pad_id() to
  // max_length. Longer text keeps the first max_length - 2 tokens and still ends with the end
  // token. A word is the run of tokens up to one ending in "</w>"; a word cut by truncation keeps
  // only its surviving tokens. max_length 0 means neither truncation nor padding.
  Encoding encode_for_model(const std::string& text, int max_length = 77) const;

  // Text of the ids: words separated by one space ("</w>" ends a word), special tokens written
  // as themselves, invalid UTF-8 replaced by U+FFFD, no trailing space. Throws lavender::Error
  // for an id outside the vocabulary.
  std::string decode(const std::vector<int64_t>& ids) const;

  int64_t bos_id() const { return bos_id_; }
  int64_t eos_id() const { return eos_id_; }
  int64_t pad_id() const { return pad_id_; }
  size_t vocab_size() const { return id_to_token_.size(); }
  // The token's string in the byte alphabet (e.g. "photo</w>"); throws for an unknown id.
  const std::string& token(int64_t id) const;
  // The id of a token string, or -1.
  int64_t token_id(const std::string& token) const;

  ClipTokenizer(const ClipTokenizer&) = delete;
  ClipTokenizer& operator=(const ClipTokenizer&) = delete;

 private:
  struct Merge {
    int32_t rank;
    int32_t merged;
  };
  void build_merges(const std::vector<std::pair<std::string, std::string>>& merges,
                    const std::string& source);
  void build_byte_symbols();
  int64_t required_id(const std::string& token, const std::string& source) const;
  std::vector<int32_t> bpe(const std::string& word_bytes) const;
  const std::vector<int32_t>& cached_bpe(const std::string& word_bytes) const;
  void append_word(const std::u32string& word, std::vector<int64_t>& ids) const;
  bool is_special(int64_t id) const { return id == bos_id_ || id == eos_id_; }

  std::unordered_map<std::string, int64_t> token_to_id_;
  std::vector<std::string> id_to_token_;
  std::unordered_map<uint64_t, Merge> merges_;  // key: left id << 32 | right id
  int32_t byte_symbol_[256] = {};               // a byte as a non-final symbol (-1: none)
  int32_t byte_symbol_eow_[256] = {};           // a byte as a word's last symbol, with </w>
  int64_t bos_id_ = -1, eos_id_ = -1, pad_id_ = -1;

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

// Loads a CLIP tokenizer from
//   - OpenAI's merges file (a .gz such as bpe_simple_vocab_16e6.txt.gz; first line a header,
//     the next 48,894 lines used; ids built as simple_tokenizer.py does: 49,408 tokens),
//   - a Hugging Face tokenizer.json (CLIPTokenizerFast: BPE model, end_of_word_suffix "</w>"),
//   - a folder with tokenizer.json, or vocab.json + merges.txt, or the .gz file, or a
//     `tokenizer/` sub-folder (a diffusers pipeline) holding one of those.
// In a folder, the pad token comes from tokenizer_config.json or special_tokens_map.json when
// present (SD 2.x pads with "!"), else tokenizer.json's padding, else <|endoftext|>.
// Throws lavender::Error naming the file on anything missing or malformed.
std::unique_ptr<ClipTokenizer> load_clip_tokenizer(const std::string& path);

// GPT-2's reversible byte -> printable code point map (bytes_to_unicode), as UTF-8 strings.
const std::vector<std::string>& byte_alphabet();

}  // namespace lavender::text
