#include "lavender/demo/demo.h"

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lavender/demo/map_grids.h"
#include "lavender/demo/report_data.h"
#include "lavender/demo/report_html.h"
#include "lavender/demo/stage_runner.h"
#include "lavender/demo/study_report.h"
#include "lavender/util/atomic_file.h"
#include "lavender/util/log.h"

namespace lavender::demo {

DemoRun write_report(const DemoOptions& options) {
  nlohmann::json report = gather_report(options, demo_plan(options));
  if (options.study) report["study"] = gather_study(options);
  report["figures"] = write_map_grids(options);
  DemoRun r;
  r.metrics = options.out + "/metrics.json";
  r.report = options.out + "/report.html";
  write_file_atomically(r.metrics, report.dump(2) + "\n");
  write_file_atomically(r.report, render_report_html(report, options.out));
  return r;
}

DemoRun run_demo(const DemoOptions& options, const std::string& exe, bool force,
                 bool report_only) {
  const auto start = std::chrono::steady_clock::now();
  std::filesystem::create_directories(options.out);
  if (!report_only) {
    const std::vector<Stage> plan = demo_plan(options);
    RunnerOptions r;
    r.exe = exe;
    r.out = options.out;
    r.force = force;
    size_t done = 0;
    r.say = [&](const std::string& line) {
      if (line.rfind("finished", 0) == 0 || line.rfind("reusing", 0) == 0) ++done;
      log::info("demo [", done, "/", plan.size(), "] ", line);
    };
    run_stages(plan, r);
  }
  DemoRun run = write_report(options);
  run.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

}  // namespace lavender::demo
