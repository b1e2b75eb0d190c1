#include "lavender/text/split_pattern.h"

#include <gtest/gtest.h>

namespace lavender::text {
namespace {

using Pieces = std::vector<std::string>;

Pieces split(const std::string& text, SplitPattern p = SplitPattern::kLlama3) {
  Pieces out;
  for (auto v : split_text(text, p)) out.emplace_back(v);
  return out;
}

TEST(SplitPattern, Llama3Words) {
  EXPECT_EQ(split("Hello world!"), (Pieces{"Hello", " world", "!"}));
  EXPECT_EQ(split(""), Pieces{});
  // [^\r\n\p{L}\p{N}]? before letters: punctuation and tabs join the word, digits do not.
  EXPECT_EQ(split("(hi)\tyo 9x"), (Pieces{"(hi", ")", "\tyo", " ", "9", "x"}));
  EXPECT_EQ(split("naïve Ünïcödé Синий"), (Pieces{"naïve", " Ünïcödé", " Синий"}));
}

TEST(SplitPattern, Llama3ContractionsAreCaseInsensitive) {
  EXPECT_EQ(split("don't I'M we'Re"), (Pieces{"don", "'t", " I", "'M", " we", "'Re"}));
  EXPECT_EQ(split("'ll'd'x"), (Pieces{"'ll", "'d", "'x"}));
}

TEST(SplitPattern, Llama3NumbersInThrees) {
  EXPECT_EQ(split("1234567"), (Pieces{"123", "456", "7"}));
  EXPECT_EQ(split("1,000.5"), (Pieces{"1", ",", "000", ".", "5"}));
  EXPECT_EQ(split("x²³"), (Pieces{"x", "²³"}));  // \p{N} includes superscripts
}

TEST(SplitPattern, Llama3Whitespace) {
  // \s+(?!\S): a space run before a word leaves its last space to the word.
  EXPECT_EQ(split("a   b"), (Pieces{"a", "  ", " b"}));
  EXPECT_EQ(split("a   "), (Pieces{"a", "   "}));
  // \s*[\r\n]+: white space up to the last newline of the run.
  EXPECT_EQ(split("a \n\n  b"), (Pieces{"a", " \n\n", " ", " b"}));
  EXPECT_EQ(split("a\r\n"), (Pieces{"a", "\r\n"}));
  //  ?[^\s\p{L}\p{N}]+[\r\n]*: punctuation takes one leading space and trailing newlines.
  EXPECT_EQ(split("x = {};\n\ny"), (Pieces{"x", " =", " {};\n\n", "y"}));
  EXPECT_EQ(split("  !"), (Pieces{" ", " !"}));
}

TEST(SplitPattern, Llama3Emoji) {
  EXPECT_EQ(split("ok 🙂 👍🏽!"), (Pieces{"ok", " 🙂", " 👍🏽!"}));
}

TEST(SplitPattern, Gpt2) {
  const auto g = SplitPattern::kGpt2;
  EXPECT_EQ(split("Hello  world 12345 don't!!", g),
            (Pieces{"Hello", " ", " world", " 12345", " don", "'t", "!!"}));
  EXPECT_EQ(split("I'M", g), (Pieces{"I", "'", "M"}));  // case-sensitive contractions
}

}  // namespace
}  // namespace lavender::text
