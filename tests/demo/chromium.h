// Headless Chromium for the report tests (Debian's `chromium`, from scripts/setup.sh).
#pragma once

#include <string>

namespace lavender::test {

// The browser's path, or "" when none is on PATH.
std::string find_chromium();

// The DOM after load (scripts run, 5 s of virtual time), as headless Chromium serialises it.
std::string dump_dom(const std::string& chromium, const std::string& html_path,
                     const std::string& profile);

}  // namespace lavender::test
