#include "lavender/demo/report_html.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "lavender/demo/axis_ticks.h"
#include "lavender/util/base64.h"
#include "lavender/util/error.h"

namespace lavender::demo {
namespace {

// Colour-blind-safe series colours (Okabe–Ito).
const char* kSeriesColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                "#E69F00", "#56B4E9", "#000000", "#F0E442"};

const char* kStyle = R"(
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em;
       color: #222; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } .subtitle { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 0.6em 0 1.4em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; }
th.num, td.num { text-align: right; }
thead th { background: #f2f2f2; }
.note { color: #555; font-size: 0.92em; }
figure { margin: 1em 0 2em; } figcaption { color: #555; font-size: 0.92em; }
img.grid { image-rendering: pixelated; max-width: 100%; border: 1px solid #ddd; }
ul.findings { margin: 0.3em 0 0.6em; padding-left: 1.2em; }
table.maps { margin: 0.4em 0 0.6em; }
table.maps th, table.maps td { border: none; padding: 2px 4px; text-align: center;
                               vertical-align: middle; }
table.maps thead th { background: none; font-weight: 600; font-size: 0.9em; white-space: nowrap; }
table.maps td.image { vertical-align: top; }
table.maps th.question { text-align: left; font-weight: normal; background: #f4f4f4;
                         padding: 0.3em 0.5em; }
table.maps th.word { text-align: right; padding-right: 0.6em; }
table.maps td.none { width: 96px; height: 96px; background: #f0f0f0; color: #888;
                     font-size: 0.85em; }
img.tile { display: block; width: 96px; height: 96px; margin: 0 auto; }
svg text { font-size: 11px; fill: #333; }
.curves { display: flex; flex-wrap: wrap; gap: 1em 2em; }
)";

std::string text_of(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

std::string cell_text(const nlohmann::json& cell) {
  if (cell.is_string()) return cell.get<std::string>();
  if (cell.is_null()) return "–";
  return cell.dump();
}

// A table row's cells; a row that is a single value is a row of one cell.
nlohmann::json cells_of(const nlohmann::json& row) {
  return row.is_array() ? row : nlohmann::json::array({row});
}

// A cell that reads as a number ("0.512 ± 0.013", "4m05s", "-1"); "–" and "" say nothing.
bool looks_numeric(const std::string& cell) {
  const size_t at = !cell.empty() && cell[0] == '-' ? 1 : 0;
  return at < cell.size() && std::isdigit(static_cast<unsigned char>(cell[at]));
}

// Columns whose cells are all numbers (or empty) are right-aligned, so digits line up; text
// columns read left to right.
std::vector<bool> numeric_columns(size_t count, const nlohmann::json& rows) {
  std::vector<bool> numeric(count, true), any(count, false);
  for (const auto& r : rows) {
    const nlohmann::json row = cells_of(r);
    for (size_t i = 0; i < std::min(count, row.size()); ++i) {
      const std::string c = cell_text(row[i]);
      if (c.empty() || c == "–") continue;
      any[i] = true;
      numeric[i] = numeric[i] && looks_numeric(c);
    }
  }
  for (size_t i = 0; i < count; ++i) numeric[i] = numeric[i] && any[i];
  return numeric;
}

std::string render_table(const nlohmann::json& t) {
  std::ostringstream h;
  h << "<h2>" << html_escape(text_of(t, "title")) << "</h2>\n";
  if (!text_of(t, "note").empty())
    h << "<p class=\"note\">" << html_escape(text_of(t, "note")) << "</p>\n";
  const auto findings = t.value("findings", nlohmann::json::array());
  if (!findings.empty()) {
    h << "<ul class=\"findings\">\n";
    for (const auto& f : findings) h << "<li>" << html_escape(cell_text(f)) << "</li>\n";
    h << "</ul>\n";
  }
  const auto columns = t.value("columns", nlohmann::json::array());
  const auto rows = t.value("rows", nlohmann::json::array());
  const std::vector<bool> numeric = numeric_columns(columns.size(), rows);
  const auto cell = [&](const char* tag, size_t i, const nlohmann::json& c) {
    h << "<" << tag << (i < numeric.size() && numeric[i] ? " class=\"num\">" : ">")
      << html_escape(cell_text(c)) << "</" << tag << ">";
  };
  h << "<table>\n<thead><tr>";
  for (size_t i = 0; i < columns.size(); ++i) cell("th", i, columns[i]);
  h << "</tr></thead>\n<tbody>\n";
  for (const auto& r : rows) {
    const nlohmann::json row = cells_of(r);
    h << "<tr>";
    for (size_t i = 0; i < row.size(); ++i) cell("td", i, row[i]);
    h << "</tr>\n";
  }
  h << "</tbody></table>\n";
  return h.str();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read the report's figure");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string png_data_uri(const std::string& dir, const std::string& file) {
  return "data:image/png;base64," + base64_encode(read_file(dir + "/" + file));
}

// A map grid laid out as an HTML table: the panels are images, the column headers, the words and
// the questions are text (a browser's font: readable, searchable, never cut to fit a panel).
std::string render_map_grid(const nlohmann::json& grid, const std::string& dir) {
  const auto columns = grid.value("columns", nlohmann::json::array());
  std::ostringstream h;
  h << "<table class=\"maps\">\n<thead><tr><th>word</th>";
  for (const auto& c : columns) h << "<th>" << html_escape(cell_text(c)) << "</th>";
  h << "</tr></thead>\n<tbody>\n";
  for (const auto& record : grid.value("records", nlohmann::json::array())) {
    const auto words = record.value("words", nlohmann::json::array());
    h << "<tr><th class=\"question\" colspan=\"" << columns.size() + 1 << "\">"
      << html_escape(text_of(record, "question")) << "</th></tr>\n";
    for (size_t w = 0; w < words.size(); ++w) {
      const std::string word = text_of(words[w], "word");
      h << "<tr><th class=\"word\">" << html_escape(word) << "</th>";
      if (w == 0)  // the image once per question, beside all of its words
        h << "<td class=\"image\" rowspan=\"" << words.size()
          << "\"><img class=\"tile\" alt=\"image\" src=\""
          << png_data_uri(dir, text_of(record, "image")) << "\"></td>";
      const auto tiles = words[w].value("tiles", nlohmann::json::array());
      for (size_t c = 0; c < tiles.size(); ++c) {
        const std::string source = c + 1 < columns.size() ? cell_text(columns[c + 1]) : "";
        if (!tiles[c].is_string()) {
          h << "<td class=\"none\">no map</td>";
          continue;
        }
        h << "<td><img class=\"tile\" alt=\"" << html_escape(source + ": " + word) << "\" src=\""
          << png_data_uri(dir, tiles[c].get<std::string>()) << "\"></td>";
      }
      h << "</tr>\n";
    }
  }
  h << "</tbody></table>\n";
  return h.str();
}

// A figure with a "grid" is laid out from its panels; otherwise its PNG is shown whole.
std::string render_figure(const nlohmann::json& f, const std::string& dir) {
  const std::string file = text_of(f, "file");
  std::ostringstream h;
  h << "<figure>\n<h3>" << html_escape(text_of(f, "title")) << "</h3>\n";
  if (f.contains("grid"))
    h << render_map_grid(f["grid"], dir);
  else
    h << "<img class=\"grid\" alt=\"" << html_escape(text_of(f, "title")) << "\" src=\""
      << png_data_uri(dir, file) << "\">\n";
  h << "<figcaption>" << html_escape(text_of(f, "caption"));
  if (!file.empty()) h << " The same grid as a standalone image: " << html_escape(file) << ".";
  h << "</figcaption>\n</figure>\n";
  return h.str();
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

// After loading, the page states on <body> how many tables and figures it shows and how many
// images decoded, and says so visibly when one did not (a truncated or corrupt figure).
const char* kSelfCheck = R"(<script>
window.addEventListener("load", function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; ++i) if (imgs[i].complete && imgs[i].naturalWidth > 0) ++ok;
  document.body.dataset.tables = document.querySelectorAll("table").length;
  document.body.dataset.images = ok + "/" + imgs.length;
  if (ok < imgs.length) {
    var p = document.createElement("p");
    p.textContent = (imgs.length - ok) + " figure(s) failed to load.";
    p.style.color = "#b00";
    document.body.insertBefore(p, document.body.firstChild);
  }
});
</script>
)";

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// The x axis: round ticks over the data, or the chart's own "x_ticks" ({"at", "label"}) with
// half a step of room on either side so that end points and their error bars stay inside.
namespace {

struct XAxis {
  AxisTicks ticks;
  std::vector<std::string> labels;
};

XAxis chart_x_axis(const nlohmann::json& curve, double x0, double x1) {
  XAxis axis;
  const nlohmann::json given = curve.value("x_ticks", nlohmann::json::array());
  if (given.empty()) {
    axis.ticks = nice_ticks(x0, x1);
    for (double x : axis.ticks.values) axis.labels.push_back(tick_label(x, axis.ticks.decimals));
    return axis;
  }
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& t : given) {
    const double at = t.value("at", 0.0);
    axis.ticks.values.push_back(at);
    axis.labels.push_back(text_of(t, "label"));
    lo = std::min(lo, at), hi = std::max(hi, at);
  }
  const double room = given.size() > 1 ? 0.5 * (hi - lo) / static_cast<double>(given.size() - 1)
                                       : 1.0;
  axis.ticks.lo = lo - room;
  axis.ticks.hi = hi + room;
  return axis;
}

}  // namespace

std::string svg_line_chart(const nlohmann::json& curve, int width, int height) {
  const int left = 56, right = 150, top = 24, bottom = 34;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  const nlohmann::json series = curve.value("series", nlohmann::json::array());
  // A point's value, if it has one, and its error bar's half length (0 without).
  const auto point = [](const nlohmann::json& s, size_t k, double* y, double* e) {
    const auto ys = s.value("y", nlohmann::json::array());
    const auto es = s.value("error", nlohmann::json::array());
    if (k >= ys.size() || !ys[k].is_number() || !std::isfinite(ys[k].get<double>())) return false;
    *y = ys[k].get<double>();
    *e = k < es.size() && es[k].is_number() && std::isfinite(es[k].get<double>())
             ? std::fabs(es[k].get<double>())
             : 0.0;
    return true;
  };
  for (const auto& s : series) {
    for (const auto& x : s.value("x", nlohmann::json::array()))
      if (x.is_number()) x0 = std::min(x0, x.get<double>()), x1 = std::max(x1, x.get<double>());
    const size_t n = s.value("y", nlohmann::json::array()).size();
    for (size_t k = 0; k < n; ++k)
      if (double y, e; point(s, k, &y, &e)) y0 = std::min(y0, y - e), y1 = std::max(y1, y + e);
  }
  std::ostringstream h;
  h << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" role=\"img\"><title>" << html_escape(text_of(curve, "title")) << "</title>\n";
  h << "<text x=\"" << left << "\" y=\"14\" style=\"font-weight:600\">"
    << html_escape(text_of(curve, "title")) << "</text>\n";
  if (!(x1 >= x0) || !(y1 >= y0)) return h.str() + "<text x=\"60\" y=\"60\">no data</text></svg>\n";
  const XAxis xa = chart_x_axis(curve, x0, x1);
  const AxisTicks& xt = xa.ticks;
  const AxisTicks yt = nice_ticks(y0, y1);
  const auto px = [&](double x) { return left + (x - xt.lo) / (xt.hi - xt.lo) * plot_w; };
  const auto py = [&](double y) { return top + (1 - (y - yt.lo) / (yt.hi - yt.lo)) * plot_h; };
  for (double y : yt.values)
    h << "<line x1=\"" << left << "\" x2=\"" << left + plot_w << "\" y1=\"" << number(py(y))
      << "\" y2=\"" << number(py(y)) << "\" stroke=\"#eee\"/>"
      << "<text x=\"" << left - 4 << "\" y=\"" << number(py(y) + 4) << "\" text-anchor=\"end\">"
      << tick_label(y, yt.decimals) << "</text>\n";
  for (size_t i = 0; i < xt.values.size(); ++i)
    h << "<line x1=\"" << number(px(xt.values[i])) << "\" x2=\"" << number(px(xt.values[i]))
      << "\" y1=\"" << top << "\" y2=\"" << top + plot_h << "\" stroke=\"#eee\"/>"
      << "<text x=\"" << number(px(xt.values[i])) << "\" y=\"" << top + plot_h + 14
      << "\" text-anchor=\"middle\">" << html_escape(xa.labels[i]) << "</text>\n";
  h << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << plot_w << "\" height=\""
    << plot_h << "\" fill=\"none\" stroke=\"#bbb\"/>\n";
  h << "<text x=\"" << left + plot_w / 2 << "\" y=\"" << height - 4
    << "\" text-anchor=\"middle\">" << html_escape(curve.value("x_label", std::string("step")))
    << "</text>\n";
  h << "<text transform=\"translate(12," << top + plot_h / 2 << ") rotate(-90)\" "
    << "text-anchor=\"middle\">" << html_escape(text_of(curve, "y_label")) << "</text>\n";
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    // A series may name its palette entry, so that one model keeps its colour across charts.
    const size_t pick = s.value("colour", i);
    const char* colour = kSeriesColours[pick % (sizeof kSeriesColours / sizeof *kSeriesColours)];
    const char* dash = s.value("dash", false) ? " stroke-dasharray=\"5,3\"" : "";
    const auto xs = s.value("x", nlohmann::json::array());
    h << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"1.5\"" << dash
      << " points=\"";
    for (size_t k = 0; k < xs.size(); ++k)
      if (double y, e; xs[k].is_number() && point(s, k, &y, &e))
        h << number(px(xs[k].get<double>())) << "," << number(py(y)) << " ";
    h << "\"/>\n";
    // Markers and error bars (one standard deviation each way, with caps).
    for (size_t k = 0; k < xs.size(); ++k) {
      double y, e;
      if (!xs[k].is_number() || !point(s, k, &y, &e)) continue;
      const double x = px(xs[k].get<double>());
      if (e > 0)
        h << "<path d=\"M" << number(x) << " " << number(py(y - e)) << "V" << number(py(y + e))
          << "M" << number(x - 4) << " " << number(py(y - e)) << "h8M" << number(x - 4) << " "
          << number(py(y + e)) << "h8\" stroke=\"" << colour << "\" fill=\"none\"/>";
      if (s.value("markers", false))
        h << "<circle cx=\"" << number(x) << "\" cy=\"" << number(py(y)) << "\" r=\"3\" fill=\""
          << colour << "\"/>";
    }
    const double ly = top + 8 + 16 * static_cast<double>(i);
    h << "<line x1=\"" << left + plot_w + 10 << "\" x2=\"" << left + plot_w + 28 << "\" y1=\"" << ly
      << "\" y2=\"" << ly << "\" stroke=\"" << colour << "\" stroke-width=\"2\"" << dash << "/>"
      << "<text x=\"" << left + plot_w + 32 << "\" y=\"" << ly + 4 << "\">"
      << html_escape(text_of(s, "name")) << "</text>\n";
  }
  h << "</svg>\n";
  return h.str();
}

std::string render_report_html(const nlohmann::json& report, const std::string& figure_dir) {
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>"
    << html_escape(text_of(report, "title")) << "</title>\n<style>" << kStyle
    << "</style>\n</head>\n<body>\n<h1>" << html_escape(text_of(report, "title")) << "</h1>\n"
    << "<p class=\"subtitle\">" << html_escape(text_of(report, "subtitle")) << "</p>\n";
  for (const auto& t : report.value("tables", nlohmann::json::array())) h << render_table(t);
  const auto curves = report.value("curves", nlohmann::json::array());
  if (!curves.empty()) {
    h << "<h2>Training curves</h2>\n<div class=\"curves\">\n";
    for (const auto& c : curves) h << svg_line_chart(c);
    h << "</div>\n";
  }
  if (report.contains("study") && report["study"].is_object()) {
    const nlohmann::json& study = report["study"];
    h << "<h2>" << html_escape(text_of(study, "title")) << "</h2>\n<p class=\"note\">"
      << html_escape(text_of(study, "note")) << "</p>\n<div class=\"curves\">\n";
    for (const auto& c : study.value("charts", nlohmann::json::array())) h << svg_line_chart(c);
    h << "</div>\n";
    for (const auto& t : study.value("tables", nlohmann::json::array())) h << render_table(t);
  }
  const auto figures = report.value("figures", nlohmann::json::array());
  if (!figures.empty()) h << "<h2>Per-word maps</h2>\n";
  for (const auto& f : figures) h << render_figure(f, figure_dir);
  const auto notes = report.value("notes", nlohmann::json::array());
  if (!notes.empty()) h << "<h2>Notes</h2>\n";
  for (const auto& n : notes) h << "<p>" << html_escape(cell_text(n)) << "</p>\n";
  h << kSelfCheck << "</body>\n</html>\n";
  return h.str();
}

}  // namespace lavender::demo
