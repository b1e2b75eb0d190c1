// Progress of a long job: done/total, rate and ETA. On a terminal one line redrawn in place
// (at most ~10 times a second); otherwise a plain line every `plain_interval` seconds, so logs
// of batch jobs stay readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace lavender {

class Progress {
 public:
  // `out` defaults to stderr; `interactive` defaults to whether `out` is a terminal.
  Progress(std::string label, int64_t total, std::FILE* out = stderr, int interactive = -1,
           double plain_interval = 10.0);
  ~Progress();

  void advance(int64_t n = 1);
  void set(int64_t done);
  void finish();  // prints the final line (idempotent)

  // The text of one status line, e.g. "extract 120/500 (24%) 3.2 it/s ETA 1m58s".
  static std::string format_line(const std::string& label, int64_t done, int64_t total,
                                 double elapsed_seconds);
  static std::string format_duration(double seconds);

 private:
  void maybe_print(bool force);
  double elapsed() const;

  std::string label_;
  int64_t total_;
  int64_t done_ = 0;
  std::FILE* out_;
  bool interactive_;
  double plain_interval_;
  std::chrono::steady_clock::time_point start_;
  double last_print_ = -1e9;
  bool finished_ = false;
};

}  // namespace lavender
