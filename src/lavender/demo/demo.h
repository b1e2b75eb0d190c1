// `lavender demo`: the whole method on the shapes world, from nothing to a report, on one
// machine: runs the plan's stages (demo/demo_plan.h, reusing finished ones), then writes
// OUT/metrics.json and the self-contained OUT/report.html.
#pragma once

#include <string>

#include "lavender/demo/demo_plan.h"

namespace lavender::demo {

struct DemoRun {
  std::string report;   // OUT/report.html
  std::string metrics;  // OUT/metrics.json
  double seconds = 0;   // wall time of this invocation
};

// `exe`: the lavender binary the stages run (default /proc/self/exe). `report_only`: draw the
// report from what earlier runs left, running nothing.
DemoRun run_demo(const DemoOptions& options, const std::string& exe = "", bool force = false,
                 bool report_only = false);

// Writes the report and metrics from whatever the stages have produced so far.
DemoRun write_report(const DemoOptions& options);

}  // namespace lavender::demo
