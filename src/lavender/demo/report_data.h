// Gathers what the demo's stages wrote (world.json, stage records, eval results, training
// metrics) into the report's JSON (demo/report_html.h documents its shape): accuracy, grounding,
// alignment and entropy tables per model and test split with the spread over seeds, each with
// its findings computed from those numbers (demo/report_findings.h), the teacher's quality,
// training curves, stage times and speed. Missing pieces (a stage not run yet) become "–" cells,
// never an error, so a report can be drawn from a partial run.
#pragma once

#include <initializer_list>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lavender/demo/demo_plan.h"
#include "lavender/demo/report_findings.h"  // mean_and_spread, for the tables' cells

namespace lavender::demo {

nlohmann::json gather_report(const DemoOptions& options, const std::vector<Stage>& plan);

// A results or record file's JSON; null when it is missing or does not parse (a stage not run).
nlohmann::json read_json_or_null(const std::string& path);
// The number at a path of keys, if every step exists and it is a number.
std::optional<double> number_at(const nlohmann::json& j, std::initializer_list<const char*> keys);

}  // namespace lavender::demo
