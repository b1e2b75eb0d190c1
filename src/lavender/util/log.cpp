#include "lavender/util/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "lavender/util/error.h"

namespace lavender::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::info)};
std::mutex g_mutex;

const char* name_of(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
    default:
      return "off";
  }
}

}  // namespace

void set_level(Level level) {
  g_level = static_cast<int>(level);
}
Level level() {
  return static_cast<Level>(g_level.load());
}
bool enabled(Level lvl) {
  return lvl != Level::off && static_cast<int>(lvl) >= g_level.load();
}

Level parse_level(const std::string& name) {
  for (Level l : {Level::debug, Level::info, Level::warn, Level::error, Level::off})
    if (name == name_of(l)) return l;
  throw Error("unknown log level \"" + name + "\" (use debug, info, warn, error or off)");
}

void write(Level lvl, const std::string& message) {
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(stderr, "[lavender] %s: %s\n", name_of(lvl), message.c_str());
  std::fflush(stderr);
}

}  // namespace lavender::log
