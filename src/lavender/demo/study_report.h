// The scaling study's part of the report (demo/study_plan.h says what ran): what it read from
// the study's eval results, as
//   {"title", "note", "tables": [...], "charts": [...]}
// with tables and charts in the report's shapes (demo/report_html.h): accuracy per test split
// and grounding against the set size, train and test answer loss, each point the mean over seeds
// with their standard deviation as an error bar, and findings computed from those numbers.
// Missing runs become "–" cells and gaps in the lines.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "lavender/demo/demo_plan.h"

namespace lavender::demo {

nlohmann::json gather_study(const DemoOptions& options);

}  // namespace lavender::demo
