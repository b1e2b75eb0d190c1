// predictions.jsonl: one line per answered benchmark item, appended (and flushed) as each answer
// is generated, so an interrupted evaluation keeps what it did and a re-run skips those ids.
//
//   {"id": ..., "prediction": ..., "answer": ..., "type": ..., "correct": true|false,
//    "choice": ..., "answer_nll": ..., "answer_tokens": ...}
//   ("choice": the choice the prediction was matched to, multiple choice only; "answer_nll": the
//   reference answer's negative log-likelihood as the reply, summed over its "answer_tokens"
//   labelled tokens, only when the evaluation measured the answer loss)
//
// Reading: a last line without its newline that does not parse is a torn write (the process died
// mid-line) and is ignored; the writer cuts it off before appending. Any other line that cannot
// be parsed is reported with file and line and skipped (its item is answered again).
// Torch-free (part of lavender_core).
#pragma once

#include <cstdio>
#include <set>
#include <string>
#include <vector>

namespace lavender::eval {

struct Prediction {
  std::string id, prediction, answer, type;
  bool correct = false;
  std::string choice;  // "" unless multiple choice
  double answer_nll = 0;      // summed over answer_tokens (0 tokens: not measured)
  int64_t answer_tokens = 0;
};

struct PredictionsFile {
  std::vector<Prediction> rows;       // in file order; a later row for an id replaces none
  std::vector<std::string> problems;  // "<file>:<line>: reason"
  bool torn_tail = false;
  size_t valid_bytes = 0;  // bytes up to the end of the last complete line
};

PredictionsFile parse_predictions(const std::string& text, const std::string& path);
// A missing file reads as empty.
PredictionsFile read_predictions(const std::string& path);

std::string prediction_line(const Prediction& p);  // one JSON line, without the newline

class PredictionsWriter {
 public:
  // Opens `path` for appending (creating it), after reading what is there and cutting off a
  // torn last line. Throws lavender::Error naming the path.
  explicit PredictionsWriter(const std::string& path);
  ~PredictionsWriter();
  PredictionsWriter(const PredictionsWriter&) = delete;
  PredictionsWriter& operator=(const PredictionsWriter&) = delete;

  const PredictionsFile& existing() const { return existing_; }
  bool contains(const std::string& id) const { return done_.count(id) > 0; }
  // Appends one line and flushes it to the OS.
  void append(const Prediction& p);

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  PredictionsFile existing_;
  std::set<std::string> done_;
};

}  // namespace lavender::eval
