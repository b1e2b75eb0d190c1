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
  EXPECT_NE(html.find("<td>Lavender &amp; co</td><td>0.61</td>"), std::string::npos);
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
  // The first point (x = 1, the lowest) sits on the left edge of the plot area (x = 56).
  EXPECT_NE(svg.find("points=\"56,"), std::string::npos) << svg;
  EXPECT_NE(demo::svg_line_chart({{"title", "empty"}}).find("no data"), std::string::npos);
}

}  // namespace
}  // namespace lavender
