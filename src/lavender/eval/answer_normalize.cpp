#include "lavender/eval/answer_normalize.h"

#include <cctype>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <vector>

namespace lavender::eval {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Punctuation that separates words. '.' and '\'' are handled on their own, see the header.
bool is_separator(char c) { return c != '\0' && std::strchr(";/[]\"{}()=+\\_-><@`,?!", c); }

const std::map<std::string, std::string>& number_words() {
  static const std::map<std::string, std::string> m = {
      {"none", "0"},     {"zero", "0"},      {"one", "1"},        {"two", "2"},
      {"three", "3"},    {"four", "4"},      {"five", "5"},       {"six", "6"},
      {"seven", "7"},    {"eight", "8"},     {"nine", "9"},       {"ten", "10"},
      {"eleven", "11"},  {"twelve", "12"},   {"thirteen", "13"},  {"fourteen", "14"},
      {"fifteen", "15"}, {"sixteen", "16"},  {"seventeen", "17"}, {"eighteen", "18"},
      {"nineteen", "19"}, {"twenty", "20"}};
  return m;
}

// Contractions people (and small models) write without the apostrophe.
const std::map<std::string, std::string>& contractions() {
  static const std::map<std::string, std::string> m = {
      {"arent", "aren't"},     {"cant", "can't"},       {"couldnt", "couldn't"},
      {"didnt", "didn't"},     {"doesnt", "doesn't"},   {"dont", "don't"},
      {"hadnt", "hadn't"},     {"hasnt", "hasn't"},     {"havent", "haven't"},
      {"hes", "he's"},         {"im", "i'm"},
      {"isnt", "isn't"},       {"ive", "i've"},         {"shes", "she's"},
      {"shouldnt", "shouldn't"}, {"thats", "that's"},   {"theres", "there's"},
      {"theyre", "they're"},   {"wasnt", "wasn't"},     {"werent", "weren't"},
      {"whats", "what's"},     {"wheres", "where's"},   {"wont", "won't"},
      {"wouldnt", "wouldn't"}, {"youre", "you're"},     {"youve", "you've"}};
  return m;
}

}  // namespace

std::string normalize_answer(const std::string& answer) {
  // Character pass: case, commas in numbers, periods, separators.
  std::string s;
  s.reserve(answer.size());
  const size_t n = answer.size();
  for (size_t i = 0; i < n; ++i) {
    const char c = answer[i];
    const char next = i + 1 < n ? answer[i + 1] : '\0';
    const char prev = i > 0 ? answer[i - 1] : '\0';
    if (c == ',' && is_digit(prev) && is_digit(next)) continue;  // 1,000 → 1000
    if (c == '.') {
      if (is_digit(next)) s.push_back('.');  // 3.5, .5 keep their point; "3." and "u.s." lose it
      continue;
    }
    if (is_separator(c) || c == '\t' || c == '\n' || c == '\r') {
      s.push_back(' ');
      continue;
    }
    s.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  // Word pass: numbers, articles, contractions; whitespace collapsed.
  static const std::set<std::string> articles = {"a", "an", "the"};
  std::istringstream words(s);
  std::string word, out;
  while (words >> word) {
    if (articles.count(word)) continue;
    if (auto it = number_words().find(word); it != number_words().end()) word = it->second;
    if (auto it = contractions().find(word); it != contractions().end()) word = it->second;
    if (!out.empty()) out.push_back(' ');
    out += word;
  }
  return out;
}

bool answers_match(const std::string& a, const std::string& b) {
  return normalize_answer(a) == normalize_answer(b);
}

}  // namespace lavender::eval
