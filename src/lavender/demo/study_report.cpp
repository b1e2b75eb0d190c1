#include "lavender/demo/study_report.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "lavender/demo/report_data.h"
#include "lavender/demo/report_findings.h"
#include "lavender/demo/study_plan.h"

namespace lavender::demo {
namespace {

using nlohmann::json;

std::optional<double> study_number(const std::string& path,
                                   std::initializer_list<const char*> keys) {
  return number_at(read_json_or_null(path), keys);
}

size_t line_count(const std::string& path) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += !line.empty();
  return n;
}

// One metric of the study: values[arm][size] over the seeds that have it.
using StudyValues = std::vector<std::vector<std::vector<double>>>;

// `read(run)`: the metric of one run, if it has it.
template <class Read>
StudyValues study_values(const StudyPreset& study, Read read) {
  StudyValues values(demo_arms().size(), std::vector<std::vector<double>>(study_sizes().size()));
  for (size_t a = 0; a < demo_arms().size(); ++a)
    for (size_t z = 0; z < study_sizes().size(); ++z)
      for (int s = 0; s < study.seeds; ++s)
        if (auto v = read(study_run_name(demo_arms()[a].name, study_sizes()[z], s)))
          values[a][z].push_back(*v);
  return values;
}

// The chart of one metric against the set size: a line per arm, error bars of one s.d.
json size_chart(const std::string& title, const std::string& y_label, const StudyValues& values,
                const json& x_ticks, const std::string& name_suffix = "", bool dash = false) {
  json series = json::array();
  for (size_t a = 0; a < demo_arms().size(); ++a) {
    json x = json::array(), y = json::array(), err = json::array();
    for (size_t z = 0; z < study_sizes().size(); ++z) {
      if (values[a][z].empty()) continue;
      x.push_back(std::log2(study_sizes()[z].fraction()));
      y.push_back(mean_of(values[a][z]));
      err.push_back(spread_of(values[a][z]));
    }
    series.push_back({{"name", demo_arms()[a].short_title + name_suffix},
                      {"colour", a},
                      {"x", x},
                      {"y", y},
                      {"error", err},
                      {"markers", true},
                      {"dash", dash}});
  }
  return {{"title", title},
          {"y_label", y_label},
          {"x_label", "fine-tuning questions (× the default set)"},
          {"x_ticks", x_ticks},
          {"series", series}};
}

// Per size, each Lavender arm against SFT.
json size_findings(const std::string& what, const StudyValues& values,
                   const std::vector<std::string>& size_names, const Wording& wording,
                   int decimals = 3) {
  json findings = json::array();
  for (size_t z = 0; z < study_sizes().size(); ++z) {
    std::vector<ModelResult> others;
    for (size_t a = 1; a < demo_arms().size(); ++a)
      others.push_back({demo_arms()[a].short_title, values[a][z]});
    const std::string f = comparison_finding(what + ", " + size_names[z],
                                             {demo_arms()[0].short_title, values[0][z]}, others,
                                             wording, decimals);
    if (!f.empty()) findings.push_back(f);
  }
  return findings;
}

json size_table(const std::string& title, const std::string& note, json findings,
                const std::vector<std::string>& columns,
                const std::vector<const StudyValues*>& metrics,
                const std::vector<std::string>& size_names, int decimals = 3) {
  json rows = json::array();
  for (size_t a = 0; a < demo_arms().size(); ++a)
    for (size_t z = 0; z < study_sizes().size(); ++z) {
      json cells = json::array({demo_arms()[a].short_title, size_names[z]});
      for (const StudyValues* m : metrics) cells.push_back(mean_and_spread((*m)[a][z], decimals));
      rows.push_back(cells);
    }
  json cols = json::array({"arm", "questions"});
  for (const auto& c : columns) cols.push_back(c);
  return {{"title", title}, {"note", note}, {"findings", findings}, {"columns", cols},
          {"rows", rows}};
}

}  // namespace

json gather_study(const DemoOptions& options) {
  const DemoPreset preset = demo_preset(options);
  const StudyPreset study = study_preset(options);
  const std::string eval = options.out + "/eval/study/";
  // The sizes as counts of questions actually in each set.
  const size_t whole = line_count(options.out + "/world/train.jsonl");
  const size_t whole4 = line_count(study_world(options.out) + "/train.jsonl");
  std::vector<std::string> size_names;
  std::string passes;  // how often each set is seen
  json x_ticks = json::array();
  for (const StudySize& size : study_sizes()) {
    const int64_t limit = study_max_samples(preset, size);
    const size_t n = size.numerator > size.denominator ? whole4
                     : limit > 0 ? std::min<size_t>(whole, static_cast<size_t>(limit))
                                 : whole;
    size_names.push_back(size.label + " (" + std::to_string(n) + ")");
    if (n > 0) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%s%s: %.2g", passes.empty() ? "" : ", ",
                    size.label.c_str(),
                    static_cast<double>(study.steps * preset.batch) / static_cast<double>(n));
      passes += buf;
    }
    x_ticks.push_back({{"at", std::log2(size.fraction())}, {"label", size.label}});
  }
  auto split_metric = [&](const std::string& split, std::initializer_list<const char*> keys) {
    return study_values(study, [&](const std::string& run) {
      return study_number(eval + run + "/" + split + "/results.json", keys);
    });
  };
  std::vector<StudyValues> accuracy;
  for (const auto& split : demo_test_splits())
    accuracy.push_back(split_metric(split, {"accuracy", "overall", "accuracy"}));
  // Out of distribution as one number per run: the mean over the three OOD splits.
  const StudyValues ood = study_values(study, [&](const std::string& run) -> std::optional<double> {
    double sum = 0;
    for (size_t s = 1; s < demo_test_splits().size(); ++s) {
      auto v = study_number(eval + run + "/" + demo_test_splits()[s] + "/results.json",
                            {"accuracy", "overall", "accuracy"});
      if (!v) return std::nullopt;
      sum += *v;
    }
    return sum / static_cast<double>(demo_test_splits().size() - 1);
  });
  const StudyValues grounding = split_metric("test-id", {"attention", "vs_truth", "overall", "iou"});
  const StudyValues test_loss = split_metric("test-id", {"answer_loss", "mean"});
  const StudyValues train_loss = split_metric("train", {"answer_loss", "mean"});
  const StudyValues gap = study_values(study, [&](const std::string& run) -> std::optional<double> {
    auto test = study_number(eval + run + "/test-id/results.json", {"answer_loss", "mean"});
    auto train = study_number(eval + run + "/train/results.json", {"answer_loss", "mean"});
    if (!test || !train) return std::nullopt;
    return *test - *train;
  });

  const std::string spread =
      " Mean ± standard deviation over " + std::to_string(study.seeds) +
      " fine-tuning seeds; two results differ when their means are further apart than the sum "
      "of their standard deviations.";
  json accuracy_findings = size_findings("test-id accuracy", accuracy[0], size_names,
                                         {"lower", "higher"});
  for (const auto& f : size_findings("mean accuracy over the OOD splits", ood, size_names,
                                     {"lower", "higher"}))
    accuracy_findings.push_back(f);
  std::vector<std::string> accuracy_columns = demo_test_splits();
  accuracy_columns.push_back("OOD mean");
  std::vector<const StudyValues*> accuracy_metrics;
  for (const auto& a : accuracy) accuracy_metrics.push_back(&a);
  accuracy_metrics.push_back(&ood);

  json loss_findings = size_findings("test − train answer loss", gap, size_names,
                                     {"smaller (less over-fitting)", "larger (more over-fitting)"});
  for (const auto& f : size_findings("grounding IoU on test-id", grounding, size_names,
                                     {"lower", "higher"}))
    loss_findings.push_back(f);

  json tables = json::array(
      {size_table("Scaling: answer accuracy against the fine-tuning set size",
                  "Exact match on " + std::to_string(study.eval_limit) +
                      " questions per split." + spread,
                  accuracy_findings, accuracy_columns, accuracy_metrics, size_names),
       size_table("Scaling: over-fitting and grounding against the fine-tuning set size",
                  "Answer loss: the reference answer's mean loss per token as the reply, on the "
                  "first " + std::to_string(study.train_eval_limit) +
                      " training questions (which every set holds) and on test-id; the gap is "
                      "test minus train. Grounding: IoU of the word maps with the truth on "
                      "test-id." + spread,
                  loss_findings, {"train loss", "test loss", "gap", "grounding IoU"},
                  {&train_loss, &test_loss, &gap, &grounding}, size_names, 3)});

  json charts = json::array();
  for (size_t s = 0; s < demo_test_splits().size(); ++s)
    charts.push_back(size_chart("Accuracy, " + demo_test_splits()[s], "accuracy", accuracy[s],
                                x_ticks));
  charts.push_back(size_chart("Grounding IoU, test-id", "IoU", grounding, x_ticks));
  json loss = size_chart("Answer loss: test (solid), train (dashed)", "loss per token",
                         test_loss, x_ticks, " test");
  const json train_chart = size_chart("", "", train_loss, x_ticks, " train", true);
  for (const auto& s : train_chart["series"]) loss["series"].push_back(s);
  charts.push_back(loss);

  return {{"title", "Scaling with the fine-tuning set size"},
          {"note",
           "The paper's Figure 14 on the shapes world: each arm fine-tuned from the same "
           "caption-pretrained VLM on the first 1/16, 1/4 and all of the training questions, and "
           "on a set four times as large (the same world's seed, four times the images), each "
           "for " + std::to_string(study.steps) +
               " steps of " + std::to_string(preset.batch) +
               " questions, so the small sets are seen many times over and the largest less than "
               "once" + (passes.empty() ? "" : " (passes over each set: " + passes + ")") + "."},
          {"tables", tables},
          {"charts", charts}};
}

}  // namespace lavender::demo
