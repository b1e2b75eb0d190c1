// `lavender demo --study`: its stages (what each run trains on and waits for) and the report
// section drawn from its eval results.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "lavender/demo/demo_plan.h"
#include "lavender/demo/study_plan.h"
#include "lavender/demo/study_report.h"
#include "test_paths.h"

namespace lavender {
namespace {

using nlohmann::json;

std::string arg_after(const demo::Stage& s, const std::string& flag) {
  for (size_t i = 0; i + 1 < s.args.size(); ++i)
    if (s.args[i] == flag) return s.args[i + 1];
  return "";
}

TEST(StudyPlan, EveryArmOnEverySetSizeWithItsOwnDataAndTeacher) {
  demo::DemoOptions o;
  o.out = "/o";
  const auto plain = demo::demo_plan(o);
  o.study = true;
  const auto plan = demo::demo_plan(o);
  // The study adds stages after the demo's own, which stay as they were (so a finished demo's
  // stages are reused).
  ASSERT_GT(plan.size(), plain.size());
  for (size_t i = 0; i < plain.size(); ++i) EXPECT_EQ(plan[i].args, plain[i].args) << i;
  std::map<std::string, const demo::Stage*> by_name;
  for (const auto& s : plan) EXPECT_TRUE(by_name.emplace(s.name, &s).second) << s.name;

  const demo::StudyPreset study = demo::study_preset(o);
  EXPECT_EQ(study.seeds, 3);
  size_t runs = 0;
  for (const auto& size : demo::study_sizes())
    for (int seed = 0; seed < study.seeds; ++seed)
      for (const auto& arm : demo::demo_arms()) {
        const std::string name = demo::study_run_name(arm.name, size, seed);
        ASSERT_TRUE(by_name.count(name)) << name;
        const demo::Stage& s = *by_name[name];
        ++runs;
        EXPECT_EQ(arg_after(s, "--max-steps"), std::to_string(study.steps));
        EXPECT_EQ(arg_after(s, "--seed"), std::to_string(seed));
        EXPECT_EQ(arg_after(s, "--model"), "/o/vlm/pretrain/model");
        const bool large = size.tag == "4x";
        EXPECT_EQ(arg_after(s, "--data"), large ? "/o/world-4x/train.jsonl" : "/o/world/train.jsonl");
        EXPECT_EQ(arg_after(s, "--images"), large ? "/o/world-4x" : "/o/world");
        // 3000 images × 3 questions: 1/16 → 562, 1/4 → 2250; the whole files otherwise.
        const std::string limit = size.tag == "1-16" ? "562" : size.tag == "1-4" ? "2250" : "";
        EXPECT_EQ(arg_after(s, "--max-samples"), limit) << name;
        const std::set<std::string> after(s.after.begin(), s.after.end());
        EXPECT_TRUE(after.count("pretrain-vlm")) << name;
        if (arm.name == "sft") {
          EXPECT_EQ(arg_after(s, "--lambda"), "0");
          EXPECT_EQ(arg_after(s, "--maps"), "");
        } else if (arm.name == "lavender-dm") {
          EXPECT_EQ(arg_after(s, "--maps"), large ? "/o/dm-maps/train-4x" : "/o/dm-maps/train");
          EXPECT_TRUE(after.count(large ? "maps-train-4x" : "maps-train")) << name;
        } else {
          EXPECT_EQ(arg_after(s, "--maps"),
                    large ? "/o/world-4x/truth/train" : "/o/world/truth/train");
        }
        if (large) {
          EXPECT_TRUE(after.count("synth-4x")) << name;
        }
        // Scored on every test split and on its first training questions, after it finished.
        for (const std::string split : {"test-id", "test-ood-combo", "test-ood-crowded",
                                        "test-ood-size", "train"}) {
          ASSERT_TRUE(by_name.count("eval-" + name + "-" + split)) << name << " " << split;
          const demo::Stage& e = *by_name["eval-" + name + "-" + split];
          EXPECT_NE(std::find(e.after.begin(), e.after.end(), name), e.after.end());
          const bool loss = split == "test-id" || split == "train";
          EXPECT_EQ(std::find(e.args.begin(), e.args.end(), "--answer-loss") != e.args.end(), loss)
              << e.name;
        }
      }
  EXPECT_EQ(runs, 36u);
  // The 4× world draws from the demo's seed with four times the training images.
  const demo::Stage& world4 = *by_name["synth-4x"];
  EXPECT_EQ(arg_after(world4, "--train"), "12000");
  EXPECT_EQ(arg_after(world4, "--seed"), "0");
}

void write_result(const std::string& dir, const json& j) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/results.json") << j.dump();
}

TEST(StudyReport, PointsAverageSeedsAndFindingsFollowTheNumbers) {
  test::TempDir dir;
  demo::DemoOptions o;
  o.out = dir.path();
  o.study = true;
  o.seeds = 2;
  {  // 16 training questions; the 4× world 64
    std::filesystem::create_directories(dir.file("world"));
    std::filesystem::create_directories(dir.file("world-4x"));
    std::ofstream a(dir.file("world/train.jsonl")), b(dir.file("world-4x/train.jsonl"));
    for (int i = 0; i < 16; ++i) a << "{}\n";
    for (int i = 0; i < 64; ++i) b << "{}\n";
  }
  // SFT over-fits the 1/16 set (train loss 0.1, test 1.0), Lavender-DM less (0.3, 0.6);
  // test-id accuracy 0.50/0.52 (SFT) against 0.70/0.72 (Lavender-DM) on that size.
  const auto& size = demo::study_sizes()[0];
  for (int seed = 0; seed < 2; ++seed) {
    const double d = 0.02 * seed;
    for (const auto& [arm, acc, train, test] :
         {std::tuple<std::string, double, double, double>{"sft", 0.50, 0.1, 1.0},
          {"lavender-dm", 0.70, 0.3, 0.6}}) {
      const std::string run = dir.file("eval/study/" + demo::study_run_name(arm, size, seed));
      for (const auto& split : demo::demo_test_splits()) {
        json r = {{"accuracy", {{"overall", {{"accuracy", acc + d}}}}},
                  {"attention", {{"vs_truth", {{"overall", {{"iou", 0.2}}}}}}}};
        if (split == "test-id") r["answer_loss"] = {{"mean", test}};
        write_result(run + "/" + split, r);
      }
      write_result(run + "/train", {{"answer_loss", {{"mean", train}}}});
    }
  }
  const json s = demo::gather_study(o);
  const json& accuracy = s["tables"][0];
  // Rows: arm × size; the SFT 1/16 row names the set's question count.
  EXPECT_EQ(accuracy["rows"][0][0], "SFT");
  EXPECT_EQ(accuracy["rows"][0][1], "1/16 (16)");  // 3000 × 3 / 16 = 562, but the file has 16
  EXPECT_EQ(accuracy["rows"][0][2], "0.510 ± 0.014");
  EXPECT_EQ(accuracy["rows"][1][2], "–");  // no run of that size
  const std::string findings = accuracy["findings"].dump();
  EXPECT_NE(findings.find("higher — Lavender-DM (0.710 ± 0.014)"), std::string::npos) << findings;
  const json& loss = s["tables"][1];
  EXPECT_EQ(loss["rows"][0][4], "0.900 ± 0.000");  // SFT's gap, test − train
  EXPECT_NE(loss["findings"].dump().find("smaller (less over-fitting) — Lavender-DM (0.300 ± 0.000)"),
            std::string::npos)
      << loss["findings"].dump();
  // Charts: x at log2 of the size, the spread as the error bar.
  const json& chart = s["charts"][0];
  EXPECT_EQ(chart["series"][0]["x"][0].get<double>(), -4.0);
  EXPECT_NEAR(chart["series"][0]["y"][0].get<double>(), 0.51, 1e-12);
  EXPECT_NEAR(chart["series"][0]["error"][0].get<double>(), 0.02 / std::sqrt(2.0), 1e-12);
  EXPECT_EQ(chart["x_ticks"].size(), demo::study_sizes().size());
  EXPECT_EQ(s["charts"].size(), demo::demo_test_splits().size() + 2);
  // The loss chart: each arm's test loss (solid) and train loss (dashed).
  const json& loss_chart = s["charts"].back();
  ASSERT_EQ(loss_chart["series"].size(), 2 * demo::demo_arms().size());
  EXPECT_EQ(loss_chart["series"][0]["name"], "SFT test");
  EXPECT_EQ(loss_chart["series"][3]["name"], "SFT train");
  EXPECT_TRUE(loss_chart["series"][3]["dash"].get<bool>());
  EXPECT_NEAR(loss_chart["series"][3]["y"][0].get<double>(), 0.1, 1e-12);
}

}  // namespace
}  // namespace lavender
