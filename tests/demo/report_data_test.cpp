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
                double accuracy, double iou, double entropy = 0.9, double teacher_entropy = 0.967) {
  const std::string dir = out + "/eval/" + run + "/" + split;
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/results.json")
      << json{{"accuracy", {{"overall", {{"accuracy", accuracy}}}}},
              {"attention",
               {{"vs_truth", {{"overall", {{"iou", iou}}}}},
                {"vs_teacher",
                 {{"overall", {{"entropy", entropy}, {"reference_entropy", teacher_entropy}}}}}}}}
             .dump();
}

const json& table_titled(const json& report, const std::string& prefix) {
  for (const auto& t : report["tables"])
    if (t["title"].get<std::string>().rfind(prefix, 0) == 0) return t;
  throw std::runtime_error("no table " + prefix);
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
  EXPECT_NE(r["subtitle"].get<std::string>().find("2 fine-tuning seeds per arm"),
            std::string::npos);
}

// The time the stages ran counts only while some stage ran: stages reused from a run a day
// earlier add their own time, not the day in between; overlapping stages count once.
TEST(ReportData, StageWallTimeSkipsTheGapsBetweenRuns) {
  test::TempDir dir;
  demo::DemoOptions o;
  o.out = dir.path();
  const auto plan = demo::demo_plan(o);
  auto record = [&](const demo::Stage& s, double start, double seconds) {
    const std::string path = demo::stage_record_path(o.out, s.name);
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << json{{"name", s.name}, {"ok", true}, {"status", 0},
                                {"seconds", seconds}, {"finished_at", start + seconds},
                                {"args", s.args}}
                               .dump();
  };
  record(plan[0], 1000, 100);          // 1000–1100
  record(plan[1], 1050, 100);          // 1050–1150, beside it: 150 s so far
  record(plan[2], 1000 + 86400, 60);   // a day later: 60 s more
  const json r = demo::gather_report(o, plan);
  const std::string subtitle = r["subtitle"];
  EXPECT_NE(subtitle.find("the stages ran for 3m30s (4m20s of stage time side by side)"),
            std::string::npos)
      << subtitle;
}

TEST(ReportData, FindingsFollowTheNumbers) {
  test::TempDir dir;
  demo::DemoOptions o;
  o.out = dir.path();
  o.seeds = 2;
  write_eval(o.out, "pretrain", "test-id", 0.25, 0.3, 0.95);
  write_eval(o.out, "sft-s0", "test-id", 0.50, 0.15, 0.97);
  write_eval(o.out, "sft-s1", "test-id", 0.52, 0.17, 0.96);
  write_eval(o.out, "lavender-dm-s0", "test-id", 0.51, 0.30, 0.92);
  write_eval(o.out, "lavender-dm-s1", "test-id", 0.50, 0.32, 0.91);
  const json r = demo::gather_report(o, demo::demo_plan(o));

  const json& accuracy = table_titled(r, "Answer accuracy");
  ASSERT_EQ(accuracy["findings"].size(), 1u);  // only test-id has results
  EXPECT_EQ(accuracy["findings"][0],
            "test-id, against SFT (0.510 ± 0.014): no difference beyond the seeds' spread — "
            "Lavender-DM (0.505 ± 0.007).");
  EXPECT_EQ(table_titled(r, "Grounding")["findings"][0],
            "test-id, against SFT (0.160 ± 0.014): higher — Lavender-DM (0.310 ± 0.014).");

  // The teacher's row and the findings come from the teacher's entropy on the same words.
  const json& entropy = table_titled(r, "Attention entropy");
  EXPECT_EQ(entropy["rows"][0][1], "0.967");
  EXPECT_EQ(entropy["findings"][0],
            "test-id, against the diffusion model's maps (0.967): sharper — the VLM before "
            "fine-tuning (0.950) and Lavender-DM (0.915 ± 0.007); no difference beyond the seeds' "
            "spread — SFT (0.965 ± 0.007).");
  EXPECT_EQ(entropy["note"].get<std::string>().find("are sharper"), std::string::npos);
}

}  // namespace
}  // namespace lavender
