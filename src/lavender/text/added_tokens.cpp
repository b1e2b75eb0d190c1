#include "lavender/text/added_tokens.h"

#include <algorithm>

namespace lavender::text {

void AddedTokenMatcher::add(const std::string& content, int64_t id) {
  if (content.empty()) return;
  Token t{content, id};
  auto pos = std::upper_bound(
      tokens_.begin(), tokens_.end(), t,
      [](const Token& a, const Token& b) { return a.content.size() > b.content.size(); });
  tokens_.insert(pos, std::move(t));
  first_byte_[static_cast<unsigned char>(content[0])] = true;
}

std::vector<AddedTokenMatcher::Piece> AddedTokenMatcher::split(std::string_view text) const {
  std::vector<Piece> pieces;
  size_t plain_start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (!first_byte_[static_cast<unsigned char>(text[i])]) continue;
    for (const Token& t : tokens_) {
      if (text.compare(i, t.content.size(), t.content) != 0) continue;
      if (i > plain_start) pieces.push_back({text.substr(plain_start, i - plain_start), -1});
      pieces.push_back({text.substr(i, t.content.size()), t.id});
      i += t.content.size() - 1;
      plain_start = i + 1;
      break;
    }
  }
  if (plain_start < text.size()) pieces.push_back({text.substr(plain_start), -1});
  return pieces;
}

}  // namespace lavender::text
