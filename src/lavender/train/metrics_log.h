// The trainer's per-step log: one JSON object per line in `<out>/metrics.jsonl`, e.g.
//   {"step":120,"total":2.31,"text":2.05,"attention":0.26,"lambda":1.0,"lr":2e-5,...}
// with the values in the order the trainer gave them. A resumed run first drops what the killed
// run logged after its last checkpoint, so the file reads as one continuous run without
// duplicate steps. Every value can also be mirrored into a TensorBoard event file.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lavender::train {

class EventFileWriter;

// Named scalars of one step, in writing order. Non-finite values are written as null (JSON has
// no NaN) and read back as NaN.
using Metrics = std::vector<std::pair<std::string, double>>;

struct MetricsRow {
  int64_t step = 0;
  Metrics values;  // everything but "step"
};

class MetricsLog {
 public:
  static constexpr const char* kFileName = "metrics.jsonl";

  // Opens `<out_dir>/metrics.jsonl` (out_dir must exist) for appending.
  //   resume_step empty: a fresh run; an old log there is replaced by an empty one.
  //   resume_step = S:   a run resumed from the checkpoint of step S; rows with step > S (logged
  //                      after that checkpoint by the run that died) are dropped, as is a torn
  //                      last line, by rewriting the file atomically.
  // `mirror` (optional, not owned, must outlive this log) receives every value as the scalar
  // `train/<name>`, and on resume a session start at S + 1 so TensorBoard drops the dead run's
  // later points too.
  explicit MetricsLog(const std::string& out_dir, std::optional<int64_t> resume_step = std::nullopt,
                      EventFileWriter* mirror = nullptr);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;

  // Appends one line (handed to the OS at once, so a killed run keeps it). Steps must increase;
  // no value may be called "step". Throws lavender::Error otherwise or when the write fails.
  void log(int64_t step, const Metrics& values);
  // fsyncs the log (and the mirror), e.g. right after a checkpoint is saved.
  void flush();

  const std::string& path() const { return path_; }
  // The last step in the log (kept rows included); empty before any.
  std::optional<int64_t> last_step() const { return last_step_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  EventFileWriter* mirror_ = nullptr;
  std::optional<int64_t> last_step_;
};

// All complete rows of a metrics.jsonl. A last line without its newline is a write cut short by
// a kill and is ignored; any other line that is not a JSON object with an integer "step" and
// numeric (or null) values is an error naming the file and line.
std::vector<MetricsRow> read_metrics_log(const std::string& path);
// The same on the file's text; `source` names it in errors.
std::vector<MetricsRow> parse_metrics_log(const std::string& text, const std::string& source);

}  // namespace lavender::train
