// The demo's report as one self-contained HTML file: every figure is embedded (PNG data URIs,
// loss curves as inline SVG), so it can be mailed or opened offline.
//
// It renders the demo's metrics.json (demo/report_data.h assembles it):
//   "title", "subtitle"                       strings
//   "tables": [{"title", "note", "findings": [sentence], "columns": [..], "rows": [[cell, ...]]}]
//                                              cells are strings; findings computed from the
//                                              numbers (demo/report_findings.h), as a list
//   "curves": [{"title", "y_label", "series": [{"name", "x": [..], "y": [..], "colour"}]}]
//                                              "colour" (optional): a palette index; optional too:
//                                              the chart's "x_label" (default "step") and
//                                              "x_ticks": [{"at", "label"}], a series' "error"
//                                              (± per point, drawn as bars), "markers", "dash"
//   "study": {"title", "note", "charts": [chart], "tables": [table]}   (demo --study only)
//   "figures": [{"title", "file", "caption", "grid"}]  files relative to the report's folder (PNG);
//       with "grid": {"columns": [header], "records": [{"question", "image": file,
//       "words": [{"word", "tiles": [file or null, one per column after the first]}]}]} the
//       figure is laid out as an HTML table of its panels with text labels, else "file" is shown
//   "notes": [string]                          paragraphs at the end
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace lavender::demo {

// `figure_dir`: where the figures' files are read from. Throws lavender::Error naming a figure
// file that cannot be read.
std::string render_report_html(const nlohmann::json& report, const std::string& figure_dir);

// HTML text escaping (&, <, >, ").
std::string html_escape(const std::string& text);

// One line chart as an inline <svg>: each series a polyline over shared axes, ticks on round
// numbers, with a legend. Two fit side by side on the report's page.
std::string svg_line_chart(const nlohmann::json& curve, int width = 520, int height = 260);

}  // namespace lavender::demo
