// Runs the real lavender binary, as a user would, and keeps its exit code and output.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace lavender::test {

struct CliRun {
  int code;
  std::string output;  // stdout and stderr together
};

inline CliRun run_cli(const std::string& args) {
  std::string cmd = std::string(LAVENDER_CLI_PATH) + " " + args + " 2>&1";
  CliRun r{-1, ""};
  std::FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  int status = ::pclose(pipe);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace lavender::test
