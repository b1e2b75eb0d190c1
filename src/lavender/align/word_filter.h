// Which matched words the alignment loss may use (METHOD.md: the authors' optional filters).
//   all                      every word with a letter or digit (the default)
//   content                  all but English stop words (articles, pronouns, auxiliaries, ...)
//   nouns, adjectives,
//   nouns-adjectives-verbs   by part of speech, looked up in a lexicon the user gives
// A part-of-speech lexicon is a text file, one `word<TAB>TAG` per line (Universal POS tags: NOUN,
// PROPN, ADJ, VERB, ...; a word may appear on several lines with different tags; `#` starts a
// comment). Words the lexicon does not know are dropped by the part-of-speech filters.
// The authors' "subjects and objects" filter needs a dependency parser and is not offered.
#pragma once

#include <map>
#include <set>
#include <string>

namespace lavender::align {

enum class WordFilterKind { all, content, nouns, adjectives, nouns_adjectives_verbs };

// "all", "content", "nouns", "adjectives", "nouns-adjectives-verbs"; throws otherwise.
WordFilterKind parse_word_filter(const std::string& name);
const char* word_filter_name(WordFilterKind kind);

bool is_stop_word(const std::string& lower_case_word);

class WordFilter {
 public:
  WordFilter() = default;
  // `lexicon_path` is needed by the part-of-speech filters (lavender::Error naming the filter
  // otherwise) and read once; a malformed line is an error naming file and line.
  WordFilter(WordFilterKind kind, const std::string& lexicon_path = "");

  WordFilterKind kind() const { return kind_; }
  bool keeps(const std::string& lower_case_word) const;

 private:
  WordFilterKind kind_ = WordFilterKind::all;
  std::map<std::string, std::set<std::string>> tags_;  // word → its tags
};

}  // namespace lavender::align
