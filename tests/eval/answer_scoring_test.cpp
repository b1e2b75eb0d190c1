#include <gtest/gtest.h>

#include "lavender/eval/answer_normalize.h"
#include "lavender/eval/scoring.h"

namespace lavender::eval {
namespace {

TEST(NormalizeAnswer, FollowsTheVqaRules) {
  EXPECT_EQ(normalize_answer("  Two.  "), "2");
  EXPECT_EQ(normalize_answer("The RED Circle!"), "red circle");
  EXPECT_EQ(normalize_answer("an apple, a pear"), "apple pear");
  EXPECT_EQ(normalize_answer("3.5"), "3.5");
  EXPECT_EQ(normalize_answer(".5 metres."), ".5 metres");
  EXPECT_EQ(normalize_answer("1,000"), "1000");
  EXPECT_EQ(normalize_answer("red,blue"), "red blue");
  EXPECT_EQ(normalize_answer("u.s.a."), "usa");
  EXPECT_EQ(normalize_answer("dont know"), "don't know");
  EXPECT_EQ(normalize_answer("don't\tknow\n"), "don't know");
  EXPECT_EQ(normalize_answer("t-shirt (left)"), "t shirt left");
  EXPECT_EQ(normalize_answer("None"), "0");
  EXPECT_EQ(normalize_answer("twelve"), "12");
  EXPECT_EQ(normalize_answer("theory"), "theory");  // "the" only as a whole word
  EXPECT_EQ(normalize_answer(""), "");
  EXPECT_TRUE(answers_match("two", "2."));
  EXPECT_FALSE(answers_match("red", "reddish"));
}

TEST(MatchChoice, NamesOneChoiceOrNone) {
  const std::vector<std::string> colours = {"red", "green", "light blue", "blue"};
  EXPECT_EQ(match_choice("Red.", colours), 0);
  EXPECT_EQ(match_choice("it is green", colours), 1);
  EXPECT_EQ(match_choice("light blue", colours), 2);
  EXPECT_EQ(match_choice("a light blue one", colours), 2);  // the longer choice holds the other
  EXPECT_EQ(match_choice("red or green", colours), -1);    // ambiguous
  EXPECT_EQ(match_choice("reddish", colours), -1);         // whole words only
  EXPECT_EQ(match_choice("B", colours), 1);                // option letters
  EXPECT_EQ(match_choice("(d)", colours), 3);
  EXPECT_EQ(match_choice("c)", colours), 2);
  EXPECT_EQ(match_choice("E", colours), -1);
  EXPECT_EQ(match_choice("", colours), -1);
  EXPECT_EQ(match_choice("two", {"1", "2", "3"}), 1);
  EXPECT_EQ(match_choice("red", {}), -1);
}

TEST(AccuracyTable, CountsPerTypeAndOverall) {
  AccuracyTable t;
  t.add("colour", true);
  t.add("colour", false);
  t.add("shape", true);
  t.add("colour", true);
  EXPECT_EQ(t.overall().n, 4u);
  EXPECT_DOUBLE_EQ(t.overall().accuracy(), 0.75);
  EXPECT_DOUBLE_EQ(t.types().at("colour").accuracy(), 2.0 / 3.0);
  const auto j = t.to_json();
  EXPECT_EQ(j["types"]["shape"]["n"], 1);
  EXPECT_DOUBLE_EQ(j["overall"]["accuracy"].get<double>(), 0.75);
  const std::string table = t.table();
  EXPECT_NE(table.find("colour"), std::string::npos) << table;
  EXPECT_NE(table.find("0.6667"), std::string::npos) << table;
  EXPECT_NE(table.find("overall"), std::string::npos) << table;
  EXPECT_DOUBLE_EQ(AccuracyTable().overall().accuracy(), 0.0);
}

}  // namespace
}  // namespace lavender::eval
