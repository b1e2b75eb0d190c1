// Scoring answers: exact match after answer normalisation, multiple choice (a free-form reply
// matched to one of the choices), and accuracy per question type and overall.
// Torch-free (part of lavender_core).
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lavender::eval {

// Which choice a free-form prediction names, or -1 when it names none or several:
//   1. a lone option letter ("B", "b)", "(c)", "D.") picks that choice by position;
//   2. otherwise the choice equal to the prediction after normalisation;
//   3. otherwise the one choice whose normalised words appear as whole words in the normalised
//      prediction ("it is red" → "red"); when several do, the longest wins only if it contains
//      every other one ("light blue" over "blue"), else the reply is ambiguous (-1).
int match_choice(const std::string& prediction, const std::vector<std::string>& choices);

struct Tally {
  size_t n = 0, correct = 0;
  double accuracy() const { return n ? static_cast<double>(correct) / static_cast<double>(n) : 0.0; }
};

// Accuracy overall and per type (types in alphabetical order).
class AccuracyTable {
 public:
  void add(const std::string& type, bool correct);
  const Tally& overall() const { return overall_; }
  const std::map<std::string, Tally>& types() const { return types_; }
  // {"overall": {"n", "correct", "accuracy"}, "types": {type: {...}}}
  nlohmann::json to_json() const;
  // A plain-text table: type, n, accuracy; the overall row last.
  std::string table() const;

 private:
  Tally overall_;
  std::map<std::string, Tally> types_;
};

}  // namespace lavender::eval
