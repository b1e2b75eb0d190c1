// Opens rendered reports in headless Chromium (Debian's `chromium`, from scripts/setup.sh) and
// reads back what the page itself counted after loading: its tables and the images that decoded.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "demo/chromium.h"
#include "lavender/demo/report_html.h"
#include "lavender/io/image.h"
#include "test_paths.h"

namespace lavender {
namespace {

nlohmann::json report_with_figure() {
  return {{"title", "render check"},
          {"tables",
           {{{"title", "t1"}, {"columns", {"a", "b"}}, {"rows", {nlohmann::json::array({"x", "1"})}}},
            {{"title", "t2"}, {"columns", {"a"}}, {"rows", nlohmann::json::array()}}}},
          {"figures", {{{"title", "grid"}, {"file", "grid.png"}, {"caption", "c"}}}}};
}

void write_report(const std::string& dir) {
  std::ofstream(dir + "/report.html") << demo::render_report_html(report_with_figure(), dir);
}

class ReportInChromium : public ::testing::Test {
 protected:
  void SetUp() override {
    chromium_ = test::find_chromium();
    if (chromium_.empty())
      GTEST_SKIP() << "no chromium on PATH: scripts/setup.sh installs Debian's chromium, which "
                      "this test uses to check that the demo report renders";
  }
  std::string chromium_;
};

TEST_F(ReportInChromium, RendersTablesAndDecodesEveryImage) {
  test::TempDir dir;
  io::Image img;
  img.width = img.height = 8, img.channels = 3;
  img.pixels.assign(8 * 8 * 3, 200);
  io::write_png(dir.path() + "/grid.png", img);
  write_report(dir.path());
  const std::string dom = test::dump_dom(chromium_, dir.path() + "/report.html", dir.path() + "/profile");
  ASSERT_NE(dom.find("<table>"), std::string::npos) << dom.substr(0, 500);
  EXPECT_NE(dom.find("data-tables=\"2\""), std::string::npos) << dom.substr(0, 500);
  EXPECT_NE(dom.find("data-images=\"1/1\""), std::string::npos) << dom.substr(0, 500);
}

TEST_F(ReportInChromium, ACorruptFigureIsCaughtAndShown) {
  test::TempDir dir;
  std::ofstream(dir.path() + "/grid.png") << "\x89PNG\r\n\x1a\nnot really";
  write_report(dir.path());
  const std::string dom = test::dump_dom(chromium_, dir.path() + "/report.html", dir.path() + "/profile");
  EXPECT_NE(dom.find("data-images=\"0/1\""), std::string::npos) << dom.substr(0, 500);
  EXPECT_NE(dom.find("1 figure(s) failed to load."), std::string::npos);
}

}  // namespace
}  // namespace lavender
