#include <cstdio>

#include "commands.h"
#include "lavender/parity/parity.h"
#include "lavender/util/args.h"
#include "lavender/util/error.h"

namespace lavender::cli {

int run_parity(const Args& args) {
  ArgParser parser("parity",
                   "Runs lavender on a reference fixture's stored inputs and prints, for every "
                   "reference output, the max abs difference and pass/fail at the documented "
                   "tolerance. Outputs the fixture holds no reference for are listed as not "
                   "checked.\nExit codes: 0 every reference passes, 1 some reference fails or "
                   "was not produced, 2 not a usable fixture.");
  parser.positional("FIXTURE_DIR", "a fixture folder, e.g. ../shared/fixtures/hf-tiny/llava");
  if (!parser.parse(args)) {
    std::printf("%s", parser.help().c_str());
    return 0;
  }
  parity::Report report;
  try {
    report = parity::run_parity(parser.positionals()[0]);
  } catch (const Error& e) {
    std::fprintf(stderr, "lavender: error: %s\n", e.what());
    return parity::kExitBadFixture;
  }
  std::printf("%s", report.format().c_str());
  return report.exit_code();
}

}  // namespace lavender::cli
