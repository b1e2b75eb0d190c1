#include "lavender/eval/scoring.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "lavender/eval/answer_normalize.h"

namespace lavender::eval {
namespace {

// " red " inside " it is red " (both padded), so that "red" does not match "redder".
bool contains_words(const std::string& text, const std::string& words) {
  if (words.empty()) return false;
  return (" " + text + " ").find(" " + words + " ") != std::string::npos;
}

// "B", "b)", "(c)", "D." or "D:" → its index; -1 otherwise.
int option_letter(const std::string& prediction) {
  std::string s;
  for (char c : prediction)
    if (!std::isspace(static_cast<unsigned char>(c))) s.push_back(c);
  if (s.size() >= 2 && s.front() == '(' && s.back() == ')') s = s.substr(1, s.size() - 2);
  if (s.size() == 2 && (s[1] == ')' || s[1] == '.' || s[1] == ':')) s.pop_back();
  if (s.size() != 1 || !std::isalpha(static_cast<unsigned char>(s[0]))) return -1;
  return std::tolower(static_cast<unsigned char>(s[0])) - 'a';
}

}  // namespace

int match_choice(const std::string& prediction, const std::vector<std::string>& choices) {
  const int n = static_cast<int>(choices.size());
  if (n == 0) return -1;
  const std::string p = normalize_answer(prediction);
  std::vector<std::string> normalised;
  for (const auto& c : choices) normalised.push_back(normalize_answer(c));
  for (int i = 0; i < n; ++i)
    if (normalised[static_cast<size_t>(i)] == p && !p.empty()) return i;
  // A lone letter only when no choice is literally that letter (a choice "a" would be dropped
  // as an article anyway).
  const int letter = option_letter(prediction);
  if (letter >= 0 && letter < n && n > 1) return letter;
  std::vector<int> named;
  for (int i = 0; i < n; ++i)
    if (contains_words(p, normalised[static_cast<size_t>(i)])) named.push_back(i);
  if (named.empty()) return -1;
  int longest = named.front();
  for (int i : named)
    if (normalised[static_cast<size_t>(i)].size() > normalised[static_cast<size_t>(longest)].size())
      longest = i;
  for (int i : named)
    if (!contains_words(normalised[static_cast<size_t>(longest)], normalised[static_cast<size_t>(i)]))
      return -1;
  return longest;
}

void AccuracyTable::add(const std::string& type, bool correct) {
  for (Tally* t : {&overall_, &types_[type]}) {
    ++t->n;
    if (correct) ++t->correct;
  }
}

nlohmann::json AccuracyTable::to_json() const {
  auto row = [](const Tally& t) {
    return nlohmann::json{{"n", t.n}, {"correct", t.correct}, {"accuracy", t.accuracy()}};
  };
  nlohmann::json types = nlohmann::json::object();
  for (const auto& [name, t] : types_) types[name] = row(t);
  return {{"overall", row(overall_)}, {"types", types}};
}

std::string AccuracyTable::table() const {
  size_t width = 7;  // "overall"
  for (const auto& [name, t] : types_) width = std::max(width, name.size());
  std::string out;
  char line[512];
  auto add_row = [&](const std::string& name, const std::string& n, const std::string& acc) {
    std::snprintf(line, sizeof line, "%-*s  %6s  %8s\n", static_cast<int>(width), name.c_str(),
                  n.c_str(), acc.c_str());
    out += line;
  };
  auto accuracy = [](const Tally& t) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", t.accuracy());
    return std::string(buf);
  };
  add_row("type", "n", "accuracy");
  for (const auto& [name, t] : types_) add_row(name, std::to_string(t.n), accuracy(t));
  add_row("overall", std::to_string(overall_.n), accuracy(overall_));
  return out;
}

}  // namespace lavender::eval
