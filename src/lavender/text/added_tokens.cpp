#include "lavender/text/added_tokens.h"

#include <algorithm>

#include "lavender/text/unicode.h"

namespace lavender::text {
namespace {

// The code point ending at byte `end` (exclusive) / starting at byte `begin` of valid UTF-8.
char32_t code_point_before(std::string_view s, size_t end) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
  const std::u32string cp = utf8_to_u32(s.substr(start, end - start));
  return cp.empty() ? 0 : cp[0];
}
char32_t code_point_at(std::string_view s, size_t begin) {
  size_t end = begin + 1;
  while (end < s.size() && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) ++end;
  const std::u32string cp = utf8_to_u32(s.substr(begin, end - begin));
  return cp.empty() ? 0 : cp[0];
}

// Rust regex's \w: letters, marks, numbers, connector punctuation (is_letter/is_number cover
// the first and third; '_' is the one connector that appears in practice).
bool is_word_char(char32_t cp) {
  return cp == U'_' || is_letter(cp) || is_number(cp);
}

// Bytes of white space ending at `end` / starting at `begin`.
size_t space_before(std::string_view s, size_t end) {
  size_t start = end;
  while (start > 0) {
    size_t prev = start - 1;
    while (prev > 0 && (static_cast<unsigned char>(s[prev]) & 0xC0) == 0x80) --prev;
    if (!is_space(code_point_at(s, prev))) break;
    start = prev;
  }
  return end - start;
}
size_t space_after(std::string_view s, size_t begin) {
  size_t end = begin;
  while (end < s.size()) {
    size_t next = end + 1;
    while (next < s.size() && (static_cast<unsigned char>(s[next]) & 0xC0) == 0x80) ++next;
    if (!is_space(code_point_at(s, end))) break;
    end = next;
  }
  return end - begin;
}

}  // namespace

void AddedTokenMatcher::add(const std::string& content, int64_t id) {
  AddedToken t;
  t.content = content;
  t.id = id;
  add(t);
}

void AddedTokenMatcher::add(const AddedToken& token) {
  if (token.content.empty()) return;
  auto pos = std::upper_bound(
      tokens_.begin(), tokens_.end(), token,
      [](const AddedToken& a, const AddedToken& b) { return a.content.size() > b.content.size(); });
  tokens_.insert(pos, token);
  first_byte_[static_cast<unsigned char>(token.content[0])] = true;
}

const AddedToken* AddedTokenMatcher::match_at(std::string_view text, size_t i) const {
  if (!first_byte_[static_cast<unsigned char>(text[i])]) return nullptr;
  for (const AddedToken& t : tokens_)
    if (text.compare(i, t.content.size(), t.content) == 0) return &t;
  return nullptr;
}

std::vector<AddedTokenMatcher::Piece> AddedTokenMatcher::split(std::string_view text) const {
  std::vector<Piece> pieces;
  size_t plain_start = 0;
  size_t i = 0;
  while (i < text.size()) {
    const AddedToken* t = match_at(text, i);
    if (t == nullptr) {
      ++i;
      continue;
    }
    size_t start = i, stop = i + t->content.size();
    i = stop;  // a rejected match is skipped whole, as a non-overlapping scan does
    if (t->single_word && ((start > 0 && is_word_char(code_point_before(text, start))) ||
                           (stop < text.size() && is_word_char(code_point_at(text, stop)))))
      continue;
    if (t->lstrip) start = std::max(start - space_before(text, start), plain_start);
    if (t->rstrip) stop += space_after(text, stop);
    if (start > plain_start) pieces.push_back({text.substr(plain_start, start - plain_start), -1});
    pieces.push_back({text.substr(start, stop - start), t->id});
    plain_start = i = stop;
  }
  if (plain_start < text.size()) pieces.push_back({text.substr(plain_start), -1});
  return pieces;
}

}  // namespace lavender::text
