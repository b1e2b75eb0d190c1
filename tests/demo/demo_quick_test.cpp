// `lavender demo --quick --study` end to end: every stage runs (the scaling study's too), the
// report holds a number in every cell, its map grids' panels decode in headless Chromium, and a
// second run reuses every stage. It takes about five minutes on two cores, so it is not one of
// the discovered unit tests: ctest runs it as
// `demo_quick` (labels unit and demo; the sanitizer stage of scripts/test.sh leaves label demo
// out, where it would take five times as long).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "demo/chromium.h"
#include "lavender/demo/demo_plan.h"
#include "lavender/demo/study_plan.h"
#include "test_paths.h"

namespace lavender {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

int run_demo(const std::string& out, const std::string& log) {
  const std::string cmd = std::string("'") + LAVENDER_CLI_PATH + "' demo --quick --study --out '" + out +
                          "' > '" + log + "' 2>&1";
  return std::system(cmd.c_str());
}

TEST(DemoQuick, DISABLED_RunsEndToEndAndReusesEveryStage) {
  test::TempDir dir;
  const std::string out = dir.path() + "/demo";
  ASSERT_EQ(run_demo(out, dir.path() + "/first.log"), 0) << read_text(dir.path() + "/first.log");

  const auto metrics = nlohmann::json::parse(read_text(out + "/metrics.json"));
  // Accuracy and grounding: a number for every model on every test split.
  for (size_t t = 0; t < 2; ++t)
    for (const auto& row : metrics["tables"][t]["rows"])
      for (size_t c = 1; c < row.size(); ++c)
        EXPECT_NE(row[c], "–") << metrics["tables"][t]["title"] << " " << row[0] << " col " << c;
  // The study: a number in every cell (every arm, set size and split), a line per arm on every
  // chart, each with a point per set size.
  for (const auto& t : metrics["study"]["tables"])
    for (const auto& row : t["rows"])
      for (size_t c = 2; c < row.size(); ++c)
        EXPECT_NE(row[c], "–") << t["title"] << " " << row[0] << " " << row[1] << " col " << c;
  for (const auto& chart : metrics["study"]["charts"])
    for (const auto& series : chart["series"])
      EXPECT_EQ(series["y"].size(), demo::study_sizes().size()) << chart["title"];
  // Every stage ran and has a time.
  demo::DemoOptions quick;
  quick.quick = true;
  quick.study = true;
  const auto& stages = metrics["tables"].back();
  EXPECT_EQ(stages["rows"].size(), demo::demo_plan(quick).size());
  for (const auto& row : stages["rows"]) EXPECT_NE(row[2], "–") << row[0];
  // One map grid per test split (a standalone PNG, and panels the page lays out with text
  // labels), and the page decodes every panel.
  EXPECT_EQ(metrics["figures"].size(), demo::demo_test_splits().size());
  size_t panels = 0;
  for (const auto& f : metrics["figures"]) {
    EXPECT_TRUE(std::filesystem::exists(out + "/" + f["file"].get<std::string>())) << f["file"];
    for (const auto& record : f["grid"]["records"]) {
      ++panels;  // the image
      for (const auto& word : record["words"])
        for (const auto& tile : word["tiles"]) panels += tile.is_string();
    }
  }
  EXPECT_GT(panels, 0u);
  const std::string chromium = test::find_chromium();
  if (!chromium.empty()) {
    const std::string dom = test::dump_dom(chromium, out + "/report.html", dir.path() + "/profile");
    const std::string n = std::to_string(panels);
    EXPECT_NE(dom.find("data-images=\"" + n + "/" + n + "\""), std::string::npos)
        << dom.substr(0, 400);
  }

  // Again: nothing runs.
  ASSERT_EQ(run_demo(out, dir.path() + "/second.log"), 0) << read_text(dir.path() + "/second.log");
  const std::string second = read_text(dir.path() + "/second.log");
  EXPECT_EQ(second.find("started"), std::string::npos) << second;
  EXPECT_NE(second.find("reusing"), std::string::npos) << second;
}

}  // namespace
}  // namespace lavender
