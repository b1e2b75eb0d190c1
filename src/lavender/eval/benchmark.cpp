#include "lavender/eval/benchmark.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "lavender/data/dataset.h"
#include "lavender/io/json_file.h"
#include "lavender/util/error.h"

namespace lavender::eval {
namespace {

using nlohmann::json;

// The record's own JSON for the extra keys data::read_dataset passes over: found again from the
// record's origin ("<file>:<line>" for JSONL, "<file>#<index>" for a JSON list).
class RawRecords {
 public:
  RawRecords(const std::string& text, const std::string& path, data::DatasetFormat format)
      : path_(path), format_(format) {
    if (format == data::DatasetFormat::llava_json) {
      list_ = io::parse_json(text, path);
    } else {
      std::istringstream in(text);
      for (std::string line; std::getline(in, line);) lines_.push_back(line);
    }
  }

  json at(const std::string& origin) const {
    const bool list = format_ == data::DatasetFormat::llava_json;
    const size_t index = std::stoul(origin.substr(path_.size() + 1));
    if (list) return list_.at(index);
    return io::parse_json(lines_.at(index - 1), origin);
  }

 private:
  std::string path_;
  data::DatasetFormat format_;
  json list_;
  std::vector<std::string> lines_;
};

// Sets `problem` and returns false when the record cannot be scored.
bool to_item(const data::DatasetRecord& record, const json& raw, BenchmarkItem& item,
             std::string& problem) {
  item.id = record.id;
  item.image = record.image;
  item.origin = record.origin;
  if (record.image.empty()) return problem = "no \"image\"", false;
  // The reference: "answer", else the last assistant turn; the question: the last user turn
  // before that assistant turn (or before the end when the answer is a key).
  size_t end = record.turns.size();
  if (raw.contains("answer") && !raw["answer"].is_null()) {
    const json& a = raw["answer"];
    if (a.is_string())
      item.answer = a.get<std::string>();
    else if (a.is_number())
      item.answer = a.dump();
    else
      return problem = "\"answer\" is neither a string nor a number", false;
  } else {
    while (end > 0 && record.turns[end - 1].role != "assistant") --end;
    if (end == 0) return problem = "no reference answer (no \"answer\" key, no assistant turn)", false;
    item.answer = record.turns[end - 1].content;
    --end;
  }
  while (end > 0 && record.turns[end - 1].role != "user") --end;
  if (end == 0) return problem = "no user turn with the question", false;
  item.question = data::without_image_tokens(record.turns[end - 1].content);
  if (item.question.empty()) return problem = "the question is empty", false;
  if (item.answer.find_first_not_of(" \t\r\n") == std::string::npos)
    return problem = "the reference answer is empty", false;
  if (raw.contains("type") && !raw["type"].is_null()) {
    if (!raw["type"].is_string()) return problem = "\"type\" is not a string", false;
    item.type = raw["type"].get<std::string>();
  }
  if (raw.contains("choices") && !raw["choices"].is_null()) {
    const json& c = raw["choices"];
    if (!c.is_array()) return problem = "\"choices\" is not a list", false;
    for (const auto& choice : c) {
      if (!choice.is_string() && !choice.is_number())
        return problem = "a choice is neither a string nor a number", false;
      item.choices.push_back(choice.is_string() ? choice.get<std::string>() : choice.dump());
    }
  }
  return true;
}

}  // namespace

Benchmark parse_benchmark(const std::string& text, const std::string& path,
                          const std::string& image_root) {
  data::DatasetReadResult read = data::parse_dataset(text, path, image_root);
  if (read.format != data::DatasetFormat::llava_jsonl &&
      read.format != data::DatasetFormat::llava_json)
    throw Error(path + ": a benchmark must be conversation records (LLaVA JSON or JSONL), not " +
                data::dataset_format_name(read.format));
  Benchmark out;
  out.problems = std::move(read.problems);
  RawRecords raw(text, path, read.format);
  std::set<std::string> seen;
  for (const auto& record : read.records) {
    BenchmarkItem item;
    std::string problem;
    if (!to_item(record, raw.at(record.origin), item, problem)) {
      out.problems.push_back(record.origin + ": " + problem);
    } else if (!seen.insert(item.id).second) {
      out.problems.push_back(record.origin + ": id \"" + item.id + "\" appears before");
    } else {
      out.items.push_back(std::move(item));
    }
  }
  return out;
}

Benchmark read_benchmark(const std::string& path, const std::string& image_root) {
  std::string root = image_root;
  if (root.empty()) root = std::filesystem::path(path).parent_path().string();
  return parse_benchmark(io::read_text_file(path), path, root);
}

}  // namespace lavender::eval
