// Pairing the student's words with the teacher's (METHOD.md, "Loss details"): a word of the VLM's
// teacher-forced text is matched with the teacher's word of the same spelling (both lower-cased,
// stripped); every occurrence of the word in the student's scope is averaged into one student
// map and every occurrence among the teacher's words into one teacher map, so a repeated word
// counts once. Words without a letter or digit never reach here (text::segment_words drops
// them); the filter decides which of the rest take part.
#pragma once

#include <string>
#include <vector>

#include "lavender/align/word_filter.h"
#include "lavender/text/words.h"

namespace lavender::align {

// The spelling words are matched by: stripped of surrounding white space, ASCII lower-cased.
std::string match_spelling(const std::string& word);

struct WordMatch {
  std::string word;
  std::vector<int> student_tokens;  // token positions whose attention rows are averaged
  std::vector<int> teacher_words;   // indices into the teacher's word list, averaged
};

// `in_scope[t]`: token t's attention may be aligned (e.g. it is part of the assistant's reply);
// empty means every token. Matches come in the order the student first says them.
std::vector<WordMatch> match_words(const text::WordSegmentation& student,
                                   const std::vector<bool>& in_scope,
                                   const std::vector<std::string>& teacher_words,
                                   const WordFilter& filter = {});

}  // namespace lavender::align
