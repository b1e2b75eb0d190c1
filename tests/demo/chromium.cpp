#include "demo/chromium.h"

#include <array>
#include <cstdio>

namespace lavender::test {

std::string find_chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    const std::string cmd = std::string("command -v ") + name + " 2>/dev/null";
    std::FILE* p = popen(cmd.c_str(), "r");
    if (!p) continue;
    std::array<char, 512> buf{};
    std::string path;
    while (std::fgets(buf.data(), buf.size(), p)) path += buf.data();
    pclose(p);
    while (!path.empty() && (path.back() == '\n' || path.back() == '\r')) path.pop_back();
    if (!path.empty()) return path;
  }
  return "";
}

std::string dump_dom(const std::string& chromium, const std::string& html_path,
                     const std::string& profile) {
  const std::string cmd = "'" + chromium +
                          "' --headless --no-sandbox --disable-gpu --disable-dev-shm-usage "
                          "--no-first-run --user-data-dir='" + profile +
                          "' --virtual-time-budget=5000 --dump-dom 'file://" + html_path +
                          "' 2>/dev/null";
  std::FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "";
  std::string out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  pclose(p);
  return out;
}

}  // namespace lavender::test
