#include "lavender/train/metrics_log.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "lavender/io/json_file.h"
#include "lavender/train/event_file.h"
#include "lavender/util/atomic_file.h"
#include "lavender/util/error.h"

namespace lavender::train {
namespace {

struct Line {
  std::string text;  // without the newline; kept byte for byte when the file is rewritten
  MetricsRow row;
};

MetricsRow parse_row(const std::string& text, const std::string& where) {
  nlohmann::ordered_json j;
  try {
    j = nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + ": not JSON: " + e.what());
  }
  if (!j.is_object() || !j.contains("step") || !j["step"].is_number_integer())
    throw Error(where + ": not an object with an integer \"step\"");
  MetricsRow row;
  row.step = j["step"].get<int64_t>();
  for (const auto& [name, value] : j.items()) {
    if (name == "step") continue;
    if (value.is_null())
      row.values.emplace_back(name, std::numeric_limits<double>::quiet_NaN());
    else if (value.is_number())
      row.values.emplace_back(name, value.get<double>());
    else
      throw Error(where + ": \"" + name + "\" is not a number");
  }
  return row;
}

std::vector<Line> split_lines(const std::string& text, const std::string& source) {
  std::vector<Line> lines;
  size_t start = 0;
  for (int number = 1;; ++number) {
    const size_t end = text.find('\n', start);
    if (end == std::string::npos) break;  // the rest (if any) is a torn last line
    std::string line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    MetricsRow row = parse_row(line, source + ":" + std::to_string(number));
    lines.push_back({std::move(line), std::move(row)});
  }
  return lines;
}

bool file_exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

}  // namespace

std::vector<MetricsRow> parse_metrics_log(const std::string& text, const std::string& source) {
  std::vector<MetricsRow> rows;
  for (auto& line : split_lines(text, source)) rows.push_back(std::move(line.row));
  return rows;
}

std::vector<MetricsRow> read_metrics_log(const std::string& path) {
  return parse_metrics_log(io::read_text_file(path), path);
}

MetricsLog::MetricsLog(const std::string& out_dir, std::optional<int64_t> resume_step,
                       EventFileWriter* mirror)
    : path_(out_dir + "/" + kFileName), mirror_(mirror) {
  std::string kept;
  if (resume_step && file_exists(path_)) {
    for (const Line& line : split_lines(io::read_text_file(path_), path_)) {
      if (line.row.step > *resume_step) continue;
      kept += line.text + "\n";
      last_step_ = line.row.step;
    }
  }
  // Rewritten even when nothing changes: it also drops a torn last line, which appending after
  // would otherwise glue to the next row.
  write_file_atomically(path_, kept);
  file_ = std::fopen(path_.c_str(), "ab");
  if (!file_) throw Error(path_ + ": cannot open for appending: " + std::strerror(errno));
  if (mirror_ && resume_step) mirror_->add_session_start(*resume_step + 1);
}

MetricsLog::~MetricsLog() {
  if (file_) std::fclose(file_);
}

void MetricsLog::log(int64_t step, const Metrics& values) {
  if (last_step_ && step <= *last_step_)
    throw Error(path_ + ": step " + std::to_string(step) + " logged after step " +
                std::to_string(*last_step_) + " (steps must increase)");
  nlohmann::ordered_json j;
  j["step"] = step;
  for (const auto& [name, value] : values) {
    if (name == "step" || j.contains(name))
      throw Error(path_ + ": metric \"" + name + "\" given twice (or named \"step\")");
    j[name] = std::isfinite(value) ? nlohmann::ordered_json(value) : nlohmann::ordered_json();
  }
  const std::string line = j.dump() + "\n";
  // One fwrite + fflush per row: a kill leaves at worst a torn last line, which readers skip.
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0)
    throw Error(path_ + ": write failed: " + std::strerror(errno));
  last_step_ = step;
  if (mirror_)
    for (const auto& [name, value] : values)
      mirror_->add_scalar("train/" + name, static_cast<float>(value), step);
}

void MetricsLog::flush() {
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0)
    throw Error(path_ + ": flush failed: " + std::strerror(errno));
  if (mirror_) mirror_->flush();
}

}  // namespace lavender::train
