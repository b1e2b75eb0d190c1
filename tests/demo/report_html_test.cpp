#include "lavender/demo/report_html.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "lavender/io/image.h"
#include "lavender/util/base64.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender {
namespace {

nlohmann::json sample_report() {
  return {{"title", "Shapes <world>"},
          {"subtitle", "quick preset"},
          {"tables",
           {{{"title", "Accuracy"},
             {"note", "mean over 1 seed"},
             {"columns", {"model", "test-id"}},
             {"rows", nlohmann::json::array({nlohmann::json::array({"SFT", "0.52"}),
                                             nlohmann::json::array({"Lavender & co", "0.61"})})}}}},
          {"curves",
           {{{"title", "text loss"},
             {"y_label", "loss"},
             {"series",
              {{{"name", "sft"}, {"x", {1, 2, 3}}, {"y", {3.0, 2.0, 1.5}}},
               {{"name", "lavender"}, {"x", {1, 2, 3}}, {"y", {3.1, 1.9, 1.2}}}}}}}},
          {"figures", {{{"title", "maps"}, {"file", "figures/grid.png"}, {"caption", "a grid"}}}},
          {"notes", {"honest words"}}};
}

TEST(ReportHtml, EmbedsTablesCurvesAndFigures) {
  test::TempDir dir;
  std::filesystem::create_directories(dir.path() + "/figures");
  io::Image img;
  img.width = 2, img.height = 1, img.channels = 3;
  img.pixels = {255, 0, 0, 0, 0, 255};
  io::write_png(dir.path() + "/figures/grid.png", img);

  const std::string html = demo::render_report_html(sample_report(), dir.path());
  EXPECT_NE(html.find("<title>Shapes &lt;world&gt;</title>"), std::string::npos);
  // Text columns read left-aligned, numbers right-aligned.
  EXPECT_NE(html.find("<td>Lavender &amp; co</td><td class=\"num\">0.61</td>"), std::string::npos);
  EXPECT_NE(html.find("<th>model</th><th class=\"num\">test-id</th>"), std::string::npos);
  EXPECT_NE(html.find("data:image/png;base64," + base64_encode(io::encode_png(img))),
            std::string::npos);
  EXPECT_EQ(html.find("src=\"figures/"), std::string::npos);  // nothing refers outside the file
  EXPECT_NE(html.find("<polyline"), std::string::npos);
  EXPECT_NE(html.find(">lavender</text>"), std::string::npos);
  EXPECT_NE(html.find("<p>honest words</p>"), std::string::npos);
}

TEST(ReportHtml, AMissingFigureIsNamed) {
  test::TempDir dir;
  try {
    demo::render_report_html(sample_report(), dir.path());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("figures/grid.png"), std::string::npos) << e.what();
  }
}

TEST(ReportHtml, ChartScalesSeriesIntoThePlotArea) {
  const std::string svg = demo::svg_line_chart(sample_report()["curves"][0], 400, 200);
  // The first point (x = 1, the lowest, also the first round tick) sits on the left edge of the
  // plot area (x = 56).
  EXPECT_NE(svg.find("points=\"56,"), std::string::npos) << svg;
  EXPECT_NE(demo::svg_line_chart({{"title", "empty"}}).find("no data"), std::string::npos);
}

TEST(ReportHtml, ChartTicksFallOnRoundNumbers) {
  const nlohmann::json curve = {
      {"title", "loss"},
      {"series",
       {{{"name", "sft"}, {"x", {1, 150.8, 300.5, 451.2}}, {"y", {2.93, 1.2, 0.7, 0.31}}}}}};
  const std::string svg = demo::svg_line_chart(curve);
  for (const char* tick : {">0</text>", ">100</text>", ">500</text>", ">1</text>", ">3</text>"})
    EXPECT_NE(svg.find(tick), std::string::npos) << tick << "\n" << svg;
  for (const char* odd : {">150.8<", ">300.5<", ">0.31<", ">2.93<"})
    EXPECT_EQ(svg.find(odd), std::string::npos) << odd;
}

TEST(ReportHtml, ASeriesKeepsTheColourItNames) {
  const nlohmann::json curve = {
      {"title", "attention"},
      {"series", {{{"name", "Lavender-GT"}, {"colour", 2}, {"x", {1, 2}}, {"y", {0.2, 0.1}}}}}};
  // Palette entry 2, not entry 0 of the chart's first series.
  EXPECT_NE(demo::svg_line_chart(curve).find("stroke=\"#009E73\""), std::string::npos);
}

// The study's charts: labelled x ticks instead of numbers, points with markers and error bars
// of the series' spread (inside the y range), dashed series, and the chart's x label.
TEST(ReportHtml, ChartsDrawErrorBarsMarkersAndLabelledTicks) {
  const nlohmann::json curve = {
      {"title", "accuracy"},
      {"x_label", "questions"},
      {"x_ticks", {{{"at", -4}, {"label", "1/16"}}, {{"at", 0}, {"label", "1"}}}},
      {"series",
       {{{"name", "SFT"}, {"x", {-4, 0}}, {"y", {0.4, 0.5}}, {"error", {0.05, 0}},
         {"markers", true}},
        {{"name", "SFT train"}, {"x", {-4, 0}}, {"y", {0.45, 0.5}}, {"dash", true}}}}};
  const std::string svg = demo::svg_line_chart(curve, 400, 200);
  for (const char* text : {">1/16</text>", ">1</text>", ">questions</text>"})
    EXPECT_NE(svg.find(text), std::string::npos) << text << "\n" << svg;
  EXPECT_EQ(svg.find(">step</text>"), std::string::npos);
  EXPECT_EQ(svg.find(">-4</text>"), std::string::npos);  // the tick's label, not its position
  // One error bar (the second point has none), two markers, one dashed line and its legend.
  size_t bars = 0, markers = 0, dashes = 0;
  for (size_t at = 0; (at = svg.find("<path d=\"M", at)) != std::string::npos; ++at) ++bars;
  for (size_t at = 0; (at = svg.find("<circle", at)) != std::string::npos; ++at) ++markers;
  for (size_t at = 0; (at = svg.find("stroke-dasharray", at)) != std::string::npos; ++at) ++dashes;
  EXPECT_EQ(bars, 1u);
  EXPECT_EQ(markers, 2u);
  EXPECT_EQ(dashes, 2u);
  // The y axis covers the bar's ends (0.35 .. 0.45) and the values: ticks from 0.35 or below.
  EXPECT_NE(svg.find(">0.35</text>"), std::string::npos) << svg;
}

TEST(ReportHtml, TablesListTheirFindings) {
  nlohmann::json report = sample_report();
  report.erase("figures");
  report["tables"][0]["findings"] = {"test-id, against SFT (0.52): higher — Lavender (0.61)."};
  const std::string html = demo::render_report_html(report, ".");
  EXPECT_NE(html.find("<ul class=\"findings\">\n<li>test-id, against SFT (0.52): higher — "
                      "Lavender (0.61).</li>"),
            std::string::npos)
      << html;
}

TEST(ReportHtml, MapGridsAreTablesOfPanelsWithTextLabels) {
  test::TempDir dir;
  std::filesystem::create_directories(dir.path() + "/figures/maps-test-id");
  io::Image img;
  img.width = img.height = 4, img.channels = 3;
  img.pixels.assign(4 * 4 * 3, 100);
  for (const char* f : {"r0-image", "r0-w0-c0"})
    io::write_png(dir.path() + "/figures/maps-test-id/" + std::string(f) + ".png", img);
  nlohmann::json report = {
      {"title", "grid"},
      {"figures",
       {{{"title", "Per-word maps, test-id"},
         {"caption", "c"},
         {"file", "figures/maps-test-id.png"},
         {"grid",
          {{"columns", {"image", "truth", "Lavender-GT"}},
           {"records",
            {{{"question", "What is rightmost? the <red> star"},
              {"image", "figures/maps-test-id/r0-image.png"},
              {"words",
               {{{"word", "rightmost"},
                 {"tiles", {"figures/maps-test-id/r0-w0-c0.png", nullptr}}}}}}}}}}}}}};
  const std::string html = demo::render_report_html(report, dir.path());
  // Headers, words and questions are text, whole; the panels are embedded images; a missing map
  // says so; the standalone PNG (not there) is only named.
  EXPECT_NE(html.find("<th>Lavender-GT</th>"), std::string::npos) << html;
  EXPECT_NE(html.find("<th class=\"word\">rightmost</th>"), std::string::npos);
  EXPECT_NE(html.find("What is rightmost? the &lt;red&gt; star"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"none\">no map</td>"), std::string::npos);
  const std::string uri = "data:image/png;base64," + base64_encode(io::encode_png(img));
  size_t count = 0;
  for (size_t at = html.find(uri); at != std::string::npos; at = html.find(uri, at + 1)) ++count;
  EXPECT_EQ(count, 2u);  // the image and the one panel
}

}  // namespace
}  // namespace lavender
