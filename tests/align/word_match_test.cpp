#include "lavender/align/word_match.h"

#include <gtest/gtest.h>

#include <fstream>

#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::align {
namespace {

// "<img> a red circle , the red one" as tokens: word indices per token.
text::WordSegmentation student() {
  text::WordSegmentation s;
  s.words = {"a", "red", "circle", "the", "red", "one"};
  s.word_of_token = {-1, 0, 1, 1, 2, -1, 3, 4, 5};
  return s;
}

TEST(WordMatch, RepeatedWordsAverageAndFollowTheStudentsOrder) {
  auto m = match_words(student(), {}, {"Circle ", "red", "square", "red"});
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].word, "red");
  EXPECT_EQ(m[0].student_tokens, (std::vector<int>{2, 3, 7}));  // both occurrences, all tokens
  EXPECT_EQ(m[0].teacher_words, (std::vector<int>{1, 3}));
  EXPECT_EQ(m[1].word, "circle");
  EXPECT_EQ(m[1].teacher_words, (std::vector<int>{0}));
}

TEST(WordMatch, ScopeLimitsWhichTokensCount) {
  std::vector<bool> scope(9, false);
  scope[7] = true;  // only the second "red"
  auto m = match_words(student(), scope, {"red", "circle"});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].student_tokens, (std::vector<int>{7}));
}

TEST(WordMatch, FiltersDropStopWordsAndUseTheLexicon) {
  auto all = match_words(student(), {}, {"a", "red", "the", "circle"});
  EXPECT_EQ(all.size(), 4u);
  auto content = match_words(student(), {}, {"a", "red", "the", "circle"},
                             WordFilter(WordFilterKind::content));
  ASSERT_EQ(content.size(), 2u);
  test::TempDir dir;
  std::ofstream(dir.file("pos.tsv")) << "# lexicon\nred\tADJ\nCircle\tNOUN\ncircle\tVERB\n";
  auto nouns = match_words(student(), {}, {"red", "circle"},
                           WordFilter(WordFilterKind::nouns, dir.file("pos.tsv")));
  ASSERT_EQ(nouns.size(), 1u);
  EXPECT_EQ(nouns[0].word, "circle");
  auto adjectives = match_words(student(), {}, {"red", "circle"},
                                WordFilter(WordFilterKind::adjectives, dir.file("pos.tsv")));
  ASSERT_EQ(adjectives.size(), 1u);
  EXPECT_EQ(adjectives[0].word, "red");
}

TEST(WordMatch, FilterErrorsNameTheProblem) {
  EXPECT_THROW(parse_word_filter("verbs"), Error);
  EXPECT_THROW(WordFilter(WordFilterKind::nouns), Error);  // no lexicon
  test::TempDir dir;
  std::ofstream(dir.file("bad.tsv")) << "red ADJ\n";
  try {
    WordFilter(WordFilterKind::nouns, dir.file("bad.tsv"));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.tsv:1"), std::string::npos);
  }
}

}  // namespace
}  // namespace lavender::align
