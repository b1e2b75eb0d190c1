#include "lavender/align/word_filter.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "lavender/util/error.h"

namespace lavender::align {
namespace {

struct FilterName {
  WordFilterKind kind;
  const char* name;
};
constexpr FilterName kFilterNames[] = {
    {WordFilterKind::all, "all"},
    {WordFilterKind::content, "content"},
    {WordFilterKind::nouns, "nouns"},
    {WordFilterKind::adjectives, "adjectives"},
    {WordFilterKind::nouns_adjectives_verbs, "nouns-adjectives-verbs"}};

// Function words that name nothing one could point at in an image.
const std::set<std::string>& stop_words() {
  static const std::set<std::string> words = {
      "a",      "about",  "above", "after",  "again",    "against",    "all",  "am",
      "an",     "and",    "any",   "are",    "as",       "at",         "be",   "because",
      "been",   "before", "being", "below",  "between",  "both",       "but",  "by",
      "can",    "could",  "did",   "do",     "does",     "doing",      "down", "during",
      "each",   "few",    "for",   "from",   "further",  "had",        "has",  "have",
      "having", "he",     "her",   "here",   "hers",     "herself",    "him",  "himself",
      "his",    "how",    "i",     "if",     "in",       "into",       "is",   "it",
      "its",    "itself", "just",  "me",     "more",     "most",       "my",   "myself",
      "no",     "nor",    "not",   "now",    "of",       "off",        "on",   "once",
      "only",   "or",     "other", "our",    "ours",     "ourselves",  "out",  "over",
      "own",    "same",   "she",   "should", "so",       "some",       "such", "than",
      "that",   "the",    "their", "theirs", "them",     "themselves", "then", "there",
      "these",  "they",   "this",  "those",  "through",  "to",         "too",  "under",
      "until",  "up",     "very",  "was",    "we",       "were",       "what", "when",
      "where",  "which",  "while", "who",    "whom",     "why",        "will", "with",
      "would",  "you",    "your",  "yours",  "yourself", "yourselves", "'s",   "s",
      "t"};
  return words;
}

bool pos_filter(WordFilterKind kind) {
  return kind == WordFilterKind::nouns || kind == WordFilterKind::adjectives ||
         kind == WordFilterKind::nouns_adjectives_verbs;
}

std::map<std::string, std::set<std::string>> read_lexicon(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot read the part-of-speech lexicon");
  std::map<std::string, std::set<std::string>> tags;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const size_t tab = line.find('\t');
    if (tab == std::string::npos || tab == 0 || tab + 1 == line.size())
      throw Error(path + ":" + std::to_string(number) + ": expected `word<TAB>TAG`");
    std::string word = line.substr(0, tab), tag = line.substr(tab + 1);
    std::transform(word.begin(), word.end(), word.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::transform(tag.begin(), tag.end(), tag.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    tags[word].insert(tag);
  }
  if (tags.empty()) throw Error(path + ": the part-of-speech lexicon has no entries");
  return tags;
}

}  // namespace

WordFilterKind parse_word_filter(const std::string& name) {
  for (const auto& f : kFilterNames)
    if (name == f.name) return f.kind;
  throw Error("unknown word filter \"" + name +
              "\" (expected all, content, nouns, adjectives or nouns-adjectives-verbs)");
}

const char* word_filter_name(WordFilterKind kind) {
  for (const auto& f : kFilterNames)
    if (kind == f.kind) return f.name;
  return "?";
}

bool is_stop_word(const std::string& lower_case_word) {
  return stop_words().count(lower_case_word) > 0;
}

WordFilter::WordFilter(WordFilterKind kind, const std::string& lexicon_path) : kind_(kind) {
  if (!pos_filter(kind)) return;
  if (lexicon_path.empty())
    throw Error(std::string("the word filter \"") + word_filter_name(kind) +
                "\" needs a part-of-speech lexicon (a file of `word<TAB>TAG` lines)");
  tags_ = read_lexicon(lexicon_path);
}

bool WordFilter::keeps(const std::string& word) const {
  if (kind_ == WordFilterKind::all) return true;
  if (kind_ == WordFilterKind::content) return !is_stop_word(word);
  auto it = tags_.find(word);
  if (it == tags_.end()) return false;
  const auto& t = it->second;
  const bool noun = t.count("NOUN") || t.count("PROPN");
  const bool adjective = t.count("ADJ") > 0;
  const bool verb = t.count("VERB") > 0;
  switch (kind_) {
    case WordFilterKind::nouns:
      return noun;
    case WordFilterKind::adjectives:
      return adjective;
    case WordFilterKind::nouns_adjectives_verbs:
      return noun || adjective || verb;
    default:
      return true;
  }
}

}  // namespace lavender::align
