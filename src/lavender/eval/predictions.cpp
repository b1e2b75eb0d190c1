#include "lavender/eval/predictions.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lavender/io/json_file.h"
#include "lavender/util/error.h"

namespace lavender::eval {
namespace {

using nlohmann::json;

// Reads one row; a reason in `problem` when the line is not a prediction.
bool parse_row(const std::string& line, const std::string& origin, Prediction& p,
               std::string& problem) {
  json j;
  try {
    j = io::parse_json(line, origin);
  } catch (const Error&) {
    return problem = "invalid JSON", false;
  }
  if (!j.is_object()) return problem = "not a JSON object", false;
  for (const char* key : {"id", "prediction", "answer"})
    if (!j.contains(key) || !j[key].is_string())
      return problem = std::string("\"") + key + "\" missing or not a string", false;
  if (!j.contains("correct") || !j["correct"].is_boolean())
    return problem = "\"correct\" missing or not true/false", false;
  p.id = j["id"].get<std::string>();
  p.prediction = j["prediction"].get<std::string>();
  p.answer = j["answer"].get<std::string>();
  p.correct = j["correct"].get<bool>();
  if (j.contains("type") && j["type"].is_string()) p.type = j["type"].get<std::string>();
  if (j.contains("choice") && j["choice"].is_string()) p.choice = j["choice"].get<std::string>();
  if (j.contains("answer_tokens")) {
    if (!j["answer_tokens"].is_number_integer() || j["answer_tokens"].get<int64_t>() < 1 ||
        !j.contains("answer_nll") || !j["answer_nll"].is_number())
      return problem = "\"answer_tokens\" is not a positive count with an \"answer_nll\"", false;
    p.answer_tokens = j["answer_tokens"].get<int64_t>();
    p.answer_nll = j["answer_nll"].get<double>();
  }
  return true;
}

}  // namespace

PredictionsFile parse_predictions(const std::string& text, const std::string& path) {
  PredictionsFile out;
  size_t begin = 0;
  for (size_t n = 1; begin < text.size(); ++n) {
    size_t end = text.find('\n', begin);
    const bool complete = end != std::string::npos;
    if (!complete) end = text.size();
    const std::string line = text.substr(begin, end - begin);
    const std::string origin = path + ":" + std::to_string(n);
    if (line.find_first_not_of(" \t\r") != std::string::npos) {
      Prediction p;
      std::string problem;
      if (parse_row(line, origin, p, problem)) {
        out.rows.push_back(std::move(p));
      } else if (!complete) {
        out.torn_tail = true;  // died mid-write: not an error, the item is simply redone
        break;
      } else {
        out.problems.push_back(origin + ": " + problem);
      }
    }
    begin = complete ? end + 1 : end;
    out.valid_bytes = begin;
  }
  return out;
}

PredictionsFile read_predictions(const std::string& path) {
  if (!std::filesystem::exists(path)) return {};
  return parse_predictions(io::read_text_file(path), path);
}

std::string prediction_line(const Prediction& p) {
  json j = {{"id", p.id},         {"prediction", p.prediction}, {"answer", p.answer},
            {"type", p.type},     {"correct", p.correct}};
  if (!p.choice.empty()) j["choice"] = p.choice;
  if (p.answer_tokens > 0) j["answer_nll"] = p.answer_nll, j["answer_tokens"] = p.answer_tokens;
  // Replacement instead of an exception for invalid UTF-8 from a model's byte-level decoding.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

PredictionsWriter::PredictionsWriter(const std::string& path) : path_(path) {
  existing_ = read_predictions(path);
  for (const auto& row : existing_.rows) done_.insert(row.id);
  if (std::filesystem::exists(path)) {
    // Cut a torn last line off; a complete last line without a newline gets one.
    std::error_code ec;
    std::filesystem::resize_file(path, existing_.valid_bytes, ec);
    if (ec) throw Error(path + ": cannot cut off the torn last line: " + ec.message());
  }
  file_ = std::fopen(path.c_str(), "ab");
  if (!file_) throw Error(path + ": cannot open for appending: " + std::strerror(errno));
  if (existing_.valid_bytes > 0 && !existing_.torn_tail) {
    const std::string text = io::read_text_file(path);
    if (!text.empty() && text.back() != '\n') std::fputc('\n', file_);
  }
}

PredictionsWriter::~PredictionsWriter() {
  if (file_) std::fclose(file_);
}

void PredictionsWriter::append(const Prediction& p) {
  const std::string line = prediction_line(p) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
    throw Error(path_ + ": cannot append a prediction: " + std::strerror(errno));
  done_.insert(p.id);
}

}  // namespace lavender::eval
