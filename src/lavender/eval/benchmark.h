// A question-answering benchmark in the conversation layout (data::read_dataset's LLaVA JSON /
// JSONL): per record the question is the last user turn before the reference answer, the
// reference answer is the record's "answer" key (string or number) or else the last assistant
// turn; optional "type" (a string: the question type accuracy is broken down by) and "choices"
// (a list of strings: multiple choice). Records that cannot be used (malformed line, no question,
// no answer, no image, a bad "type"/"choices", an id seen before) are reported with file and
// line, counted and skipped. Torch-free (part of lavender_core).
#pragma once

#include <string>
#include <vector>

namespace lavender::eval {

struct BenchmarkItem {
  std::string id;
  std::string image;     // resolved path
  std::string question;  // without image placeholders
  std::string answer;
  std::string type;  // "" when the record has none
  std::vector<std::string> choices;
  std::string origin;  // "<file>:<line>"
};

struct Benchmark {
  std::vector<BenchmarkItem> items;
  std::vector<std::string> problems;  // one "origin: reason" per skipped record
};

// Relative image paths are joined onto `image_root` (empty: the benchmark file's folder).
// Throws lavender::Error when the file cannot be read, is not a conversation layout, or (a JSON
// list) is not valid JSON.
Benchmark read_benchmark(const std::string& path, const std::string& image_root = "");
Benchmark parse_benchmark(const std::string& text, const std::string& path,
                          const std::string& image_root);

// The type accuracy is reported under for an item without one.
inline const char* untyped_label() { return "-"; }

}  // namespace lavender::eval
