#include <gtest/gtest.h>

#include <fstream>

#include "lavender/eval/benchmark.h"
#include "lavender/eval/predictions.h"
#include "lavender/io/json_file.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::eval {
namespace {

TEST(Benchmark, ReadsAnswersTypesAndChoicesAndReportsBadLines) {
  const std::string text =
      R"({"id": "q1", "image": "images/1.png", "conversations": [{"from": "human", "value": "<image>\nWhat colour is the star?"}, {"from": "gpt", "value": "red"}], "type": "colour", "choices": ["red", "green"]})"
      "\n"
      R"({"id": "q2", "image": "/abs/2.png", "conversations": [{"from": "human", "value": "How many?"}], "answer": 3})"
      "\n"
      "{not json\n"
      R"({"id": "q4", "image": "4.png", "conversations": [{"from": "human", "value": "Hi"}]})"
      "\n"
      R"({"id": "q1", "image": "1.png", "conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]})"
      "\n"
      R"({"id": "q6", "image": "6.png", "conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}], "choices": "red"})"
      "\n"
      R"({"id": "q7", "conversations": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]})"
      "\n";
  Benchmark b = parse_benchmark(text, "bench.jsonl", "root");
  ASSERT_EQ(b.items.size(), 2u);
  EXPECT_EQ(b.items[0].id, "q1");
  EXPECT_EQ(b.items[0].image, "root/images/1.png");
  EXPECT_EQ(b.items[0].question, "What colour is the star?");
  EXPECT_EQ(b.items[0].answer, "red");
  EXPECT_EQ(b.items[0].type, "colour");
  EXPECT_EQ(b.items[0].choices, (std::vector<std::string>{"red", "green"}));
  EXPECT_EQ(b.items[0].origin, "bench.jsonl:1");
  EXPECT_EQ(b.items[1].image, "/abs/2.png");
  EXPECT_EQ(b.items[1].answer, "3");
  EXPECT_EQ(b.items[1].question, "How many?");
  EXPECT_TRUE(b.items[1].type.empty());
  ASSERT_EQ(b.problems.size(), 5u);
  EXPECT_EQ(b.problems[0], "bench.jsonl:3: invalid JSON");
  EXPECT_EQ(b.problems[1].rfind("bench.jsonl:4: no reference answer", 0), 0u) << b.problems[1];
  EXPECT_EQ(b.problems[2].rfind("bench.jsonl:5: id \"q1\" appears before", 0), 0u);
  EXPECT_EQ(b.problems[3], "bench.jsonl:6: \"choices\" is not a list");
  EXPECT_EQ(b.problems[4], "bench.jsonl:7: no \"image\"");
}

TEST(Benchmark, ReadsAJsonListAndResolvesImagesBesideTheFile) {
  test::TempDir dir;
  std::ofstream(dir.file("b.json"))
      << R"([{"id": 7, "image": "a.png", "conversations": [{"role": "user", "content": "Q1"},)"
         R"( {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"},)"
         R"( {"role": "assistant", "content": "A2"}]}])";
  Benchmark b = read_benchmark(dir.file("b.json"));
  ASSERT_EQ(b.items.size(), 1u);
  EXPECT_EQ(b.items[0].id, "7");
  EXPECT_EQ(b.items[0].question, "Q2");
  EXPECT_EQ(b.items[0].answer, "A2");
  EXPECT_EQ(b.items[0].image, dir.file("a.png"));
  std::ofstream(dir.file("b.tsv")) << "a.png\tcaption\n";
  EXPECT_THROW(read_benchmark(dir.file("b.tsv")), Error);
  EXPECT_THROW(read_benchmark(dir.file("missing.jsonl")), Error);
}

TEST(Predictions, ResumeSkipsDoneIdsAndCutsATornLine) {
  test::TempDir dir;
  const std::string path = dir.file("predictions.jsonl");
  {
    PredictionsWriter w(path);
    EXPECT_TRUE(w.existing().rows.empty());
    w.append({"q1", "Red", "red", "colour", true, ""});
    w.append({"q2", "B", "green", "colour", true, "green"});
  }
  // A killed run leaves half a line behind.
  std::ofstream(path, std::ios::app) << R"({"id": "q3", "predic)";
  PredictionsFile f = read_predictions(path);
  ASSERT_EQ(f.rows.size(), 2u);
  EXPECT_TRUE(f.torn_tail);
  EXPECT_TRUE(f.problems.empty());
  EXPECT_EQ(f.rows[1].choice, "green");
  {
    PredictionsWriter w(path);
    EXPECT_TRUE(w.contains("q1"));
    EXPECT_TRUE(w.contains("q2"));
    EXPECT_FALSE(w.contains("q3"));
    w.append({"q3", "circle", "star", "shape", false, ""});
    EXPECT_TRUE(w.contains("q3"));
  }
  f = read_predictions(path);
  ASSERT_EQ(f.rows.size(), 3u);
  EXPECT_FALSE(f.torn_tail);
  EXPECT_EQ(f.rows[2].id, "q3");
  EXPECT_FALSE(f.rows[2].correct);
  EXPECT_EQ(f.rows[2].type, "shape");
}

TEST(Predictions, BadLinesAreReportedWithFileAndLine) {
  const std::string text =
      R"({"id": "a", "prediction": "x", "answer": "x", "type": "", "correct": true})"
      "\n[1, 2]\n"
      R"({"id": "b", "prediction": "x", "answer": "y", "correct": "no"})"
      "\n\n"
      R"({"id": "c", "prediction": "x", "answer": "y", "correct": false})";  // no newline, whole
  PredictionsFile f = parse_predictions(text, "p.jsonl");
  ASSERT_EQ(f.rows.size(), 2u);
  EXPECT_EQ(f.rows[1].id, "c");
  EXPECT_FALSE(f.torn_tail);
  EXPECT_EQ(f.valid_bytes, text.size());
  ASSERT_EQ(f.problems.size(), 2u);
  EXPECT_EQ(f.problems[0], "p.jsonl:2: not a JSON object");
  EXPECT_EQ(f.problems[1], "p.jsonl:3: \"correct\" missing or not true/false");
  EXPECT_TRUE(read_predictions("/nonexistent/p.jsonl").rows.empty());
}

TEST(Predictions, TheAnswerLossRoundTripsAndABrokenOneIsReported) {
  Prediction p{"a", "x", "x", "colour", true, ""};
  p.answer_nll = 1.25;
  p.answer_tokens = 3;
  const std::string text = prediction_line(p) + "\n" +
                           R"({"id": "b", "prediction": "x", "answer": "y", "correct": false})" +
                           "\n" +
                           R"({"id": "c", "prediction": "x", "answer": "y", "correct": false, )"
                           R"("answer_tokens": 0, "answer_nll": 1})" + "\n";
  PredictionsFile f = parse_predictions(text, "p.jsonl");
  ASSERT_EQ(f.rows.size(), 2u);
  EXPECT_DOUBLE_EQ(f.rows[0].answer_nll, 1.25);
  EXPECT_EQ(f.rows[0].answer_tokens, 3);
  EXPECT_EQ(f.rows[1].answer_tokens, 0);  // not measured
  ASSERT_EQ(f.problems.size(), 1u);
  EXPECT_EQ(f.problems[0],
            "p.jsonl:3: \"answer_tokens\" is not a positive count with an \"answer_nll\"");
}

TEST(Predictions, AWholeLastLineWithoutNewlineGetsOneBeforeTheNextRow) {
  test::TempDir dir;
  const std::string path = dir.file("p.jsonl");
  std::ofstream(path) << R"({"id": "a", "prediction": "x", "answer": "x", "correct": true})";
  {
    PredictionsWriter w(path);
    w.append({"b", "y", "y", "", true, ""});
  }
  PredictionsFile f = read_predictions(path);
  ASSERT_EQ(f.rows.size(), 2u);
  EXPECT_TRUE(f.problems.empty());
}

}  // namespace
}  // namespace lavender::eval
