// The one interface every text tokenizer offers (CLIP BPE, byte-level BPE from tokenizer.json,
// SentencePiece), and loading whichever kind a path holds.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lavender::text {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Ids of `text`. Added/special tokens written in the text (e.g. "<|image|>") are recognised
  // either way; `add_special` adds what the model expects around a sequence (Llama: BOS; CLIP:
  // start and end tokens, no padding).
  virtual std::vector<int64_t> encode(const std::string& text, bool add_special) const = 0;
  // Text of `ids`, special tokens written as themselves. Throws lavender::Error for an id
  // outside the vocabulary.
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;

  // Id of a token string (as the vocabulary spells it), or -1.
  virtual int64_t token_to_id(const std::string& token) const = 0;
  // The vocabulary's string for `id`; throws lavender::Error for an unknown id.
  virtual std::string id_to_token(int64_t id) const = 0;
  // Number of ids (one past the largest).
  virtual size_t vocab_size() const = 0;
  // -1 where the tokenizer has none.
  virtual int64_t bos_id() const = 0;
  virtual int64_t eos_id() const = 0;
  // "clip", "byte-bpe", "sentencepiece-bpe" (tokenizer.json) or "sentencepiece" (.model).
  virtual std::string kind() const = 0;
};

// Loads the tokenizer at `path`: a folder (or its `tokenizer/` sub-folder) holding
// tokenizer.json, tokenizer.model, vocab.json + merges.txt or bpe_simple_vocab_16e6.txt.gz, or
// one of those files; like transformers, the fast tokenizer.json is preferred when a folder has
// it. A tokenizer.json is CLIP's when its BPE model has end_of_word_suffix "</w>", a byte-level
// BPE (Llama 3, GPT-2 style) when its pre-tokenizer or decoder is ByteLevel, and a
// SentencePiece-style BPE (Llama 2 / LLaVA-1.5, Mistral: byte fallback, "▁") otherwise. Throws
// lavender::Error naming the file for anything missing, malformed or unsupported.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

}  // namespace lavender::text
