#include "lavender/text/split_pattern.h"

#include <cstdint>

#include "lavender/text/unicode.h"

namespace lavender::text {
namespace {

// What the patterns distinguish about a code point. \r and \n are white space too.
enum Class : uint8_t { kOther, kLetter, kNumber, kSpace, kNewline };

Class classify(char32_t c) {
  if (c < 0x80) {
    if (c == U'\r' || c == U'\n') return kNewline;
    if ((c | 0x20) >= U'a' && (c | 0x20) <= U'z') return kLetter;
    if (c >= U'0' && c <= U'9') return kNumber;
    return c == U' ' || (c >= 0x09 && c <= 0x0D) ? kSpace : kOther;
  }
  if (is_letter(c)) return kLetter;
  if (is_number(c)) return kNumber;
  return is_space(c) ? kSpace : kOther;
}

// The text as code points with their classes and byte offsets (offset[n] = text size).
struct CodePoints {
  std::vector<char32_t> cp;
  std::vector<Class> cls;
  std::vector<uint32_t> offset;
};

// `text` is valid UTF-8 (the caller guarantees it), so decoding needs no checks.
CodePoints decode(std::string_view text) {
  CodePoints out;
  out.cp.reserve(text.size());
  out.cls.reserve(text.size());
  out.offset.reserve(text.size() + 1);
  for (size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    const int len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    char32_t c = len == 1 ? b : len == 2 ? b & 0x1F : len == 3 ? b & 0x0F : b & 0x07;
    for (int k = 1; k < len && i + k < text.size(); ++k)
      c = c << 6 | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    out.offset.push_back(static_cast<uint32_t>(i));
    out.cp.push_back(c);
    out.cls.push_back(classify(c));
    i += static_cast<size_t>(len);
  }
  out.offset.push_back(static_cast<uint32_t>(text.size()));
  return out;
}

bool is_ws(Class c) {
  return c == kSpace || c == kNewline;
}

// Case-insensitive as (?i) is with Unicode simple case folding (U+017F long s folds to s).
bool eq_fold(char32_t c, char32_t lower) {
  return c == lower || c == lower - 0x20 || (lower == U's' && c == 0x017F);
}

// Length of a contraction 's 't 're 've 'm 'll 'd at i (0 if none).
size_t contraction(const CodePoints& s, size_t i, bool fold) {
  const size_t n = s.cp.size();
  if (s.cp[i] != U'\'' || i + 1 >= n) return 0;
  auto is = [&](size_t k, char32_t lower) {
    return k < n && (fold ? eq_fold(s.cp[k], lower) : s.cp[k] == lower);
  };
  if (is(i + 1, U's') || is(i + 1, U't') || is(i + 1, U'm') || is(i + 1, U'd')) return 2;
  if ((is(i + 1, U'r') || is(i + 1, U'v')) && is(i + 2, U'e')) return 3;
  if (is(i + 1, U'l') && is(i + 2, U'l')) return 3;
  return 0;
}

size_t run_end(const CodePoints& s, size_t i, Class c) {
  while (i < s.cls.size() && s.cls[i] == c) ++i;
  return i;
}

size_t space_run_end(const CodePoints& s, size_t i) {
  while (i < s.cls.size() && is_ws(s.cls[i])) ++i;
  return i;
}

// \s+(?!\S)|\s+ at a white-space code point i: the run, less its last code point when a
// non-space follows and the run is longer than one (that one then starts the next piece).
size_t trailing_space_match(const CodePoints& s, size_t i) {
  const size_t end = space_run_end(s, i);
  if (end == s.cls.size() || end - i == 1) return end;
  return end - 1;
}

// End of the Llama 3 pattern's match starting at i (> i).
size_t match_llama3(const CodePoints& s, size_t i) {
  const size_t n = s.cls.size();
  if (size_t len = contraction(s, i, true)) return i + len;
  const Class c = s.cls[i];
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (c == kLetter) return run_end(s, i, kLetter);
  if (c != kNewline && c != kNumber && i + 1 < n && s.cls[i + 1] == kLetter)
    return run_end(s, i + 1, kLetter);
  // \p{N}{1,3}
  if (c == kNumber) {
    size_t end = i + 1;
    while (end < n && end < i + 3 && s.cls[end] == kNumber) ++end;
    return end;
  }
  //  ?[^\s\p{L}\p{N}]+[\r\n]*
  const size_t j = s.cp[i] == U' ' && i + 1 < n && s.cls[i + 1] == kOther ? i + 1 : i;
  if (s.cls[j] == kOther) return run_end(s, run_end(s, j, kOther), kNewline);
  // \s*[\r\n]+ : up to the last newline of the white-space run
  const size_t end = space_run_end(s, i);
  for (size_t k = end; k > i; --k)
    if (s.cls[k - 1] == kNewline) return k;
  return trailing_space_match(s, i);
}

// End of GPT-2's pattern's match starting at i (> i).
size_t match_gpt2(const CodePoints& s, size_t i) {
  const size_t n = s.cls.size();
  if (size_t len = contraction(s, i, false)) return i + len;
  // ` ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+`
  const size_t j = s.cp[i] == U' ' && i + 1 < n && !is_ws(s.cls[i + 1]) ? i + 1 : i;
  if (!is_ws(s.cls[j])) return run_end(s, j, s.cls[j]);
  return trailing_space_match(s, i);
}

}  // namespace

const std::string& split_pattern_regex(SplitPattern pattern) {
  static const std::string kLlama3 =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
      "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  static const std::string kGpt2 =
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
  return pattern == SplitPattern::kLlama3 ? kLlama3 : kGpt2;
}

std::vector<std::string_view> split_text(std::string_view text, SplitPattern pattern) {
  const CodePoints s = decode(text);
  std::vector<std::string_view> pieces;
  for (size_t i = 0; i < s.cp.size();) {
    const size_t end = pattern == SplitPattern::kLlama3 ? match_llama3(s, i) : match_gpt2(s, i);
    pieces.push_back(text.substr(s.offset[i], s.offset[end] - s.offset[i]));
    i = end;
  }
  return pieces;
}

}  // namespace lavender::text
