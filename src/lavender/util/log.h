// Levelled logging to stderr: `[lavender] warn: message`. One global threshold, set by the CLI
// from --log-level / -v / -q or the LAVENDER_LOG environment variable.
#pragma once

#include <sstream>
#include <string>

namespace lavender::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

void set_level(Level level);
Level level();
// "debug" | "info" | "warn" | "error" | "off"; throws lavender::Error for anything else.
Level parse_level(const std::string& name);
bool enabled(Level level);
void write(Level level, const std::string& message);

template <typename... Args>
void emit(Level lvl, const Args&... args) {
  if (!enabled(lvl)) return;
  std::ostringstream s;
  (s << ... << args);
  write(lvl, s.str());
}
template <typename... Args>
void debug(const Args&... a) {
  emit(Level::debug, a...);
}
template <typename... Args>
void info(const Args&... a) {
  emit(Level::info, a...);
}
template <typename... Args>
void warn(const Args&... a) {
  emit(Level::warn, a...);
}
template <typename... Args>
void error(const Args&... a) {
  emit(Level::error, a...);
}

}  // namespace lavender::log
