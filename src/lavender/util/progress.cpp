#include "lavender/util/progress.h"

#include <unistd.h>

#include <cmath>

namespace lavender {

Progress::Progress(std::string label, int64_t total, std::FILE* out, int interactive,
                   double plain_interval)
    : label_(std::move(label)),
      total_(total),
      out_(out),
      interactive_(interactive < 0 ? ::isatty(::fileno(out)) != 0 : interactive != 0),
      plain_interval_(plain_interval),
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() {
  finish();
}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::advance(int64_t n) {
  set(done_ + n);
}

void Progress::set(int64_t done) {
  done_ = done;
  maybe_print(false);
}

void Progress::finish() {
  if (finished_) return;
  maybe_print(true);
  if (interactive_) std::fputc('\n', out_);
  std::fflush(out_);
  finished_ = true;
}

void Progress::maybe_print(bool force) {
  double now = elapsed();
  double interval = interactive_ ? 0.1 : plain_interval_;
  if (!force && now - last_print_ < interval) return;
  last_print_ = now;
  std::string line = format_line(label_, done_, total_, now);
  if (interactive_)
    std::fprintf(out_, "\r\033[K%s", line.c_str());
  else
    std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
}

std::string Progress::format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto s = static_cast<int64_t>(std::llround(seconds));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  else if (s >= 60)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  return buf;
}

std::string Progress::format_line(const std::string& label, int64_t done, int64_t total,
                                  double elapsed_seconds) {
  char buf[256];
  double rate = elapsed_seconds > 0 ? done / elapsed_seconds : 0.0;
  std::string rate_text;
  if (rate >= 1.0 || rate == 0.0) {
    std::snprintf(buf, sizeof buf, "%.1f it/s", rate);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f s/it", 1.0 / rate);
  }
  rate_text = buf;
  if (total > 0) {
    double eta = rate > 0 ? (total - done) / rate : NAN;
    std::snprintf(buf, sizeof buf, "%s %lld/%lld (%d%%) %s ETA %s elapsed %s", label.c_str(),
                  static_cast<long long>(done), static_cast<long long>(total),
                  static_cast<int>(100.0 * static_cast<double>(done) / static_cast<double>(total)),
                  rate_text.c_str(), format_duration(eta).c_str(),
                  format_duration(elapsed_seconds).c_str());
  } else {
    std::snprintf(buf, sizeof buf, "%s %lld %s elapsed %s", label.c_str(),
                  static_cast<long long>(done), rate_text.c_str(),
                  format_duration(elapsed_seconds).c_str());
  }
  return buf;
}

}  // namespace lavender
