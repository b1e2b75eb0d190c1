#include <cstdio>

#include "commands.h"
#include "lavender/runtime/system_info.h"
#include "lavender/util/args.h"

namespace lavender::cli {

int run_info(const Args& args) {
  ArgParser parser("info",
                   "Prints the LibTorch version, thread count, the BLAS LibTorch calls, CUDA "
                   "devices and a measured fp32 matmul rate, with a warning when it is slow.");
  parser.flag("no-bench", "skip the matmul measurement");
  if (!parser.parse(args)) {
    std::printf("%s", parser.help().c_str());
    return 0;
  }
  auto info = runtime::collect_system_info(!parser.has("no-bench"));
  std::printf("%s", runtime::format_system_info(info).c_str());
  return 0;
}

}  // namespace lavender::cli
