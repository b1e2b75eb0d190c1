// Answering a benchmark with a VLM and scoring it (`lavender eval --model M --data B`): each item
// is answered greedily (or, for multiple choice with `likelihood`, by ranking the choices by the
// model's log-likelihood of each as the reply), its row appended to predictions.jsonl at once,
// and the accuracy table built from every row of that file that belongs to the benchmark, so an
// interrupted run resumes where it stopped and still reports the whole benchmark.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lavender/eval/benchmark.h"
#include "lavender/eval/scoring.h"

namespace lavender::vlm {
class ChatModel;
}

namespace lavender::eval {

struct AccuracyOptions {
  int64_t max_new_tokens = 8;
  bool likelihood = false;  // multiple choice by log-likelihood instead of generation
  // Also the reference answer's loss as the reply (one more teacher-forced forward per item):
  // the text loss training computes, on data the model may not have seen, for over-fitting.
  bool answer_loss = false;
};

// The answer loss over a benchmark: mean negative log-likelihood per labelled token.
struct AnswerLoss {
  double nll = 0;
  int64_t tokens = 0;
  size_t items = 0;  // items whose row has the loss
  double mean() const { return tokens > 0 ? nll / static_cast<double>(tokens) : 0.0; }
};

struct AccuracyRun {
  AccuracyTable table;
  AnswerLoss answer_loss;  // empty unless AccuracyOptions::answer_loss
  size_t answered = 0;  // items answered in this run
  size_t resumed = 0;   // items whose row was already in predictions.jsonl
  std::vector<std::string> problems;  // items that could not be answered (unreadable image, ...)
};

// `items`: the items to answer (already limited). `on_item` (optional) is called after each.
AccuracyRun run_accuracy(vlm::ChatModel& model, const std::vector<BenchmarkItem>& items,
                         const std::string& predictions_path, const AccuracyOptions& options,
                         const std::function<void()>& on_item = {});

}  // namespace lavender::eval
