// SentencePiece `tokenizer.model` files (LLaVA-1.5's Llama 2 tokenizer, Mistral, ...) through
// Debian's libsentencepiece (in a plugin, see sentencepiece_library.h), with what Hugging Face's
// (legacy) LlamaTokenizer adds around it: control pieces (<s>, </s>) and tokens from
// added_tokens.json written in the text are cut out first and each run between them is encoded on
// its own (so it gets SentencePiece's dummy prefix), and encode(.., true) puts BOS first
// (add_bos_token) and EOS last only when tokenizer_config.json sets add_eos_token.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lavender/text/added_tokens.h"
#include "lavender/text/sentencepiece_library.h"
#include "lavender/text/tokenizer.h"

namespace lavender::text {

class SentencePieceTokenizer : public Tokenizer {
 public:
  struct Options {
    bool add_bos = true;
    bool add_eos = false;
    std::vector<std::pair<std::string, int64_t>> added_tokens;  // beyond the model's pieces
  };
  // Loads `model_path`; throws lavender::Error naming it when it is not a SentencePiece model.
  SentencePieceTokenizer(const std::string& model_path, Options options);
  ~SentencePieceTokenizer() override;

  std::vector<int64_t> encode(const std::string& text, bool add_special) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t token_to_id(const std::string& token) const override;
  std::string id_to_token(int64_t id) const override;
  size_t vocab_size() const override;
  int64_t bos_id() const override;
  int64_t eos_id() const override;
  std::string kind() const override { return "sentencepiece"; }

  SentencePieceTokenizer(const SentencePieceTokenizer&) = delete;
  SentencePieceTokenizer& operator=(const SentencePieceTokenizer&) = delete;

 private:
  void encode_plain(std::string_view text, std::vector<int64_t>& ids) const;
  bool is_plain_piece(int64_t id) const;

  std::unique_ptr<SpmModel> sp_;
  std::string source_;
  Options options_;
  AddedTokenMatcher matcher_;
  std::unordered_map<int64_t, std::string> added_by_id_;
};

// Loads a tokenizer.model, reading added_tokens.json (token -> id) and tokenizer_config.json
// (add_bos_token, add_eos_token) beside it when present.
std::unique_ptr<SentencePieceTokenizer> load_sentencepiece_tokenizer(const std::string& path);

}  // namespace lavender::text
