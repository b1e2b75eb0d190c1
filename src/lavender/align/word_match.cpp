#include "lavender/align/word_match.h"

#include <algorithm>
#include <cctype>
#include <map>

namespace lavender::align {
std::string match_spelling(const std::string& word) {
  size_t b = 0, e = word.size();
  while (b < e && std::isspace(static_cast<unsigned char>(word[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(word[e - 1]))) --e;
  std::string out = word.substr(b, e - b);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::vector<WordMatch> match_words(const text::WordSegmentation& student,
                                   const std::vector<bool>& in_scope,
                                   const std::vector<std::string>& teacher_words,
                                   const WordFilter& filter) {
  std::map<std::string, std::vector<int>> teacher;
  for (size_t i = 0; i < teacher_words.size(); ++i) {
    std::string w = match_spelling(teacher_words[i]);
    if (!w.empty()) teacher[w].push_back(static_cast<int>(i));
  }
  std::vector<WordMatch> out;
  std::map<std::string, size_t> slot;  // word → index into out
  for (size_t t = 0; t < student.word_of_token.size(); ++t) {
    const int k = student.word_of_token[t];
    if (k < 0 || (!in_scope.empty() && (t >= in_scope.size() || !in_scope[t]))) continue;
    const std::string w = match_spelling(student.words[static_cast<size_t>(k)]);
    auto found = teacher.find(w);
    if (found == teacher.end() || !filter.keeps(w)) continue;
    auto [it, fresh] = slot.emplace(w, out.size());
    if (fresh) out.push_back({w, {}, found->second});
    out[it->second].student_tokens.push_back(static_cast<int>(t));
  }
  return out;
}

}  // namespace lavender::align
