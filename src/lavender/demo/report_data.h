// Gathers what the demo's stages wrote (world.json, stage records, eval results, training
// metrics) into the report's JSON (demo/report_html.h documents its shape): accuracy and
// grounding tables per model and test split with the spread over seeds, the teacher's quality,
// training curves, stage times and speed. Missing pieces (a stage not run yet) become "–" cells,
// never an error, so a report can be drawn from a partial run.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "lavender/demo/demo_plan.h"

namespace lavender::demo {

nlohmann::json gather_report(const DemoOptions& options, const std::vector<Stage>& plan);

// "0.612 ± 0.013" (sample standard deviation over the values; just the mean for one value;
// "–" for none).
std::string mean_and_spread(const std::vector<double>& values, int decimals = 3);

}  // namespace lavender::demo
