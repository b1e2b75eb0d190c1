// The reference tokenizers from npm (tests/tokenizer-ref, installed by `npm ci`, which
// scripts/test.sh runs): whether they can run here, and what a test does when they cannot — a
// failure with the reason when $CI is set (CI must compare), a skip with the reason on a
// developer's machine (our ids are also pinned by the *_expected.jsonl samples in tests that
// always run).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace lavender::test {

inline std::string npm_reference_dir() {
  return std::string(LAVENDER_SOURCE_DIR) + "/tests/tokenizer-ref";
}

// "" when node and every package are there, else why not and how to fix it.
inline std::string npm_reference_missing(const std::vector<std::string>& packages) {
  if (std::system("node --version > /dev/null 2>&1") != 0)
    return "node is not installed (scripts/setup.sh installs it): no reference to compare";
  for (const std::string& pkg : packages)
    if (!std::filesystem::is_directory(npm_reference_dir() + "/node_modules/" + pkg))
      return "npm package " + pkg + " missing: run `npm ci` in " + npm_reference_dir();
  return "";
}

// CI systems set CI=true (.ci/run sets CI=1); "0" or "false" mean a developer's shell.
inline bool running_in_ci() {
  const char* ci = std::getenv("CI");
  if (ci == nullptr) return false;
  const std::string v = ci;
  return !v.empty() && v != "0" && v != "false";
}

}  // namespace lavender::test

// In a test's SetUp: fail (CI) or skip (elsewhere) when `reason` is not empty.
#define LAVENDER_REQUIRE_NPM_REFERENCE(reason)                                              \
  do {                                                                                      \
    if ((reason).empty()) break;                                                            \
    if (::lavender::test::running_in_ci())                                                  \
      FAIL() << (reason) << " ($CI is set: CI must compare with the reference tokenizers)"; \
    GTEST_SKIP() << (reason);                                                               \
  } while (0)
