#include "lavender/demo/report_data.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_paths.h"

namespace lavender {
namespace {

using nlohmann::json;

void write_eval(const std::string& out, const std::string& run, const std::string& split,
                double accuracy, double iou) {
  const std::string dir = out + "/eval/" + run + "/" + split;
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/results.json")
      << json{{"accuracy", {{"overall", {{"accuracy", accuracy}}}}},
              {"attention", {{"vs_truth", {{"overall", {{"iou", iou}}}}}}}}
             .dump();
}

TEST(ReportData, MeanAndSpread) {
  EXPECT_EQ(demo::mean_and_spread({}), "–");
  EXPECT_EQ(demo::mean_and_spread({0.5}), "0.500");
  EXPECT_EQ(demo::mean_and_spread({0.4, 0.6}), "0.500 ± 0.141");
}

TEST(ReportData, TablesAverageSeedsAndMarkWhatIsMissing) {
  test::TempDir dir;
  demo::DemoOptions o;
  o.out = dir.path();
  o.seeds = 2;
  write_eval(o.out, "pretrain", "test-id", 0.25, 0.3);
  write_eval(o.out, "sft-s0", "test-id", 0.5, 0.4);
  write_eval(o.out, "sft-s1", "test-id", 0.7, 0.4);
  const json r = demo::gather_report(o, demo::demo_plan(o));
  const json& accuracy = r["tables"][0];
  EXPECT_EQ(accuracy["title"], "Answer accuracy");
  EXPECT_EQ(accuracy["columns"][1], "test-id");
  EXPECT_EQ(accuracy["rows"][0][1], "0.250");
  EXPECT_EQ(accuracy["rows"][1][1], "0.600 ± 0.141");
  EXPECT_EQ(accuracy["rows"][1][2], "–");  // no test-ood-combo results
  EXPECT_EQ(accuracy["rows"][2][1], "–");  // lavender-dm not run
  EXPECT_EQ(r["tables"][1]["rows"][1][1], "0.400 ± 0.000");
  EXPECT_NE(r["subtitle"].get<std::string>().find("2 seeds"), std::string::npos);
}

}  // namespace
}  // namespace lavender
