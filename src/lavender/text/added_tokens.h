// Added tokens (special or not) found in raw text before a tokenizer's model sees it, as
// Hugging Face tokenizers does: scanning left to right, the longest added token starting at the
// earliest position wins, and the text between matches goes to the model.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lavender::text {

class AddedTokenMatcher {
 public:
  // Empty contents are ignored.
  void add(const std::string& content, int64_t id);
  bool empty() const { return tokens_.empty(); }

  struct Piece {
    std::string_view text;  // a view into the split text
    int64_t id;             // the added token's id, or -1 for ordinary text
  };
  // `text` cut into ordinary runs and added tokens, in order; no empty ordinary runs.
  std::vector<Piece> split(std::string_view text) const;

 private:
  struct Token {
    std::string content;
    int64_t id;
  };
  std::vector<Token> tokens_;  // longest first, so the first match at a position is the longest
  bool first_byte_[256] = {};  // bytes that start some token: everything else is skipped fast
};

}  // namespace lavender::text
