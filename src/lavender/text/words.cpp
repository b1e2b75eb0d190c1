#include "lavender/text/words.h"

#include <cctype>

namespace lavender::text {
namespace {

bool word_char(unsigned char c) {
  return c >= 0x80 || std::isalnum(c) != 0;
}

// "▁" (U+2581) marks a preceding space in SentencePiece pieces.
std::string replace_sentencepiece_spaces(const std::string& piece) {
  static const std::string kSpace = "\xE2\x96\x81";
  std::string out;
  for (size_t i = 0; i < piece.size();) {
    if (piece.compare(i, kSpace.size(), kSpace) == 0) {
      out += ' ';
      i += kSpace.size();
    } else {
      out += piece[i++];
    }
  }
  return out;
}

bool is_special_spelling(const std::string& s) {
  return s.size() >= 3 && s.front() == '<' && s.back() == '>';
}

}  // namespace

std::string token_surface(const Tokenizer& tokenizer, int64_t id) {
  if (tokenizer.kind() == "sentencepiece") {
    const std::string piece = tokenizer.id_to_token(id);
    // Byte-fallback pieces (<0x41>) and special tokens decode on their own.
    if (is_special_spelling(piece)) return tokenizer.decode({id});
    return replace_sentencepiece_spaces(piece);
  }
  if (tokenizer.kind() == "clip") {
    std::string piece = tokenizer.decode({id});
    return " " + piece;  // CLIP tokens that start a word were split at spaces or punctuation
  }
  return tokenizer.decode({id});
}

WordSegmentation segment_words(const std::vector<std::string>& surfaces,
                               const std::vector<bool>& skip) {
  WordSegmentation out;
  out.word_of_token.assign(surfaces.size(), -1);
  bool in_word = false;  // the text so far ends inside a word
  for (size_t t = 0; t < surfaces.size(); ++t) {
    if (t < skip.size() && skip[t]) {
      in_word = false;
      continue;
    }
    const std::string& s = surfaces[t];
    for (size_t i = 0; i < s.size(); ++i) {
      const auto c = static_cast<unsigned char>(s[i]);
      // An apostrophe between letters stays inside the word ("don't").
      const bool inner_apostrophe = c == '\'' && in_word && i + 1 < s.size() &&
                                    word_char(static_cast<unsigned char>(s[i + 1]));
      if (word_char(c) || inner_apostrophe) {
        if (!in_word) out.words.emplace_back();
        in_word = true;
        out.words.back() += static_cast<char>(std::tolower(c));
        if (out.word_of_token[t] < 0) out.word_of_token[t] = static_cast<int>(out.words.size()) - 1;
      } else {
        in_word = false;
      }
    }
  }
  return out;
}

WordSegmentation segment_words(const Tokenizer& tokenizer, const std::vector<int64_t>& ids) {
  std::vector<std::string> surfaces;
  std::vector<bool> skip;
  for (int64_t id : ids) {
    surfaces.push_back(token_surface(tokenizer, id));
    // A special token is one whose spelling encodes back to exactly itself ("<0x41>" does not).
    const std::string spelling = tokenizer.id_to_token(id);
    skip.push_back(is_special_spelling(spelling) &&
                   tokenizer.encode(spelling, false) == std::vector<int64_t>{id});
  }
  return segment_words(surfaces, skip);
}

}  // namespace lavender::text
