// Added tokens (special or not) found in raw text before a tokenizer's model sees it, as
// Hugging Face tokenizers does: scanning left to right, the longest added token starting at the
// earliest position wins, and the text between matches goes to the model. The flags of
// tokenizer.json's added_tokens behave as there: `single_word` rejects a match with a word
// character (\w) right before or after it (the scan then resumes after the rejected match),
// `lstrip` / `rstrip` make the token swallow the white space on its left / right.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lavender::text {

// One entry of tokenizer.json's added_tokens (or tokenizer_config.json's added_tokens_decoder).
struct AddedToken {
  std::string content;
  int64_t id = -1;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  // Matched in the normalized text (its content normalized too) rather than in the raw text.
  bool normalized = false;
};

class AddedTokenMatcher {
 public:
  // Empty contents are ignored.
  void add(const std::string& content, int64_t id);
  void add(const AddedToken& token);
  bool empty() const { return tokens_.empty(); }

  struct Piece {
    std::string_view text;  // a view into the split text (with any stripped white space)
    int64_t id;             // the added token's id, or -1 for ordinary text
  };
  // `text` cut into ordinary runs and added tokens, in order; no empty ordinary runs.
  std::vector<Piece> split(std::string_view text) const;

 private:
  // The longest token matching at byte `i`, or nullptr.
  const AddedToken* match_at(std::string_view text, size_t i) const;

  std::vector<AddedToken> tokens_;  // longest first, so the first match at a position is longest
  bool first_byte_[256] = {};       // bytes that start some token: everything else is skipped fast
};

}  // namespace lavender::text
