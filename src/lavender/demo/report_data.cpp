#include "lavender/demo/report_data.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>

#include "lavender/demo/stage_runner.h"
#include "lavender/train/metrics_log.h"
#include "lavender/util/progress.h"

namespace lavender::demo {
namespace {

using nlohmann::json;

// The runs of one row of a table: "pretrain", or every seed of an arm.
struct Row {
  std::string title;
  std::string name;  // as findings name it
  std::vector<std::string> runs;
};

std::vector<Row> model_rows(const DemoPreset& preset) {
  std::vector<Row> rows = {{"before fine-tuning (caption pretraining only)",
                            "the VLM before fine-tuning",
                            {"pretrain"}}};
  for (const auto& arm : demo_arms()) {
    Row r{arm.title, arm.short_title, {}};
    for (int s = 0; s < preset.seeds; ++s) r.runs.push_back(arm.name + "-s" + std::to_string(s));
    rows.push_back(r);
  }
  return rows;
}

// values[row][split]: `keys` read from OUT/eval/<run>/<split>/results.json for each of the
// row's runs that has it.
using SplitValues = std::vector<std::vector<std::vector<double>>>;

SplitValues read_split_values(const std::string& out, const std::vector<Row>& rows,
                              std::initializer_list<const char*> keys) {
  SplitValues values;
  for (const Row& row : rows) {
    values.emplace_back();
    for (const auto& split : demo_test_splits()) {
      values.back().emplace_back();
      for (const auto& run : row.runs)
        if (auto v = number_at(
                read_json_or_null(out + "/eval/" + run + "/" + split + "/results.json"), keys))
          values.back().back().push_back(*v);
    }
  }
  return values;
}

json split_columns() {
  json columns = json::array({"model"});
  for (const auto& s : demo_test_splits()) columns.push_back(s);
  return columns;
}

json split_row(const std::string& title, const std::vector<std::vector<double>>& per_split,
               int decimals) {
  json cells = json::array({title});
  for (const auto& v : per_split) cells.push_back(mean_and_spread(v, decimals));
  return cells;
}

// One finding per split: each Lavender arm against SFT.
json findings_against_sft(const std::vector<Row>& rows, const SplitValues& values,
                          const Wording& wording, int decimals) {
  json findings = json::array();
  const size_t sft = 1;  // model_rows: pretrain, then the arms, SFT first
  for (size_t s = 0; s < demo_test_splits().size(); ++s) {
    std::vector<ModelResult> arms;
    for (size_t r = sft + 1; r < rows.size(); ++r) arms.push_back({rows[r].name, values[r][s]});
    const std::string f = comparison_finding(
        demo_test_splits()[s], {rows[sft].name, values[sft][s]}, arms, wording, decimals);
    if (!f.empty()) findings.push_back(f);
  }
  return findings;
}

// One table: a row per model, a column per test split, each cell the mean ± spread over seeds of
// `keys` in the eval results, and per split the Lavender arms against SFT.
json split_table(const std::string& out, const DemoPreset& preset, const std::string& title,
                 const std::string& note, std::initializer_list<const char*> keys,
                 const Wording& wording, int decimals = 3) {
  const std::vector<Row> rows = model_rows(preset);
  const SplitValues values = read_split_values(out, rows, keys);
  json table_rows = json::array();
  for (size_t r = 0; r < rows.size(); ++r)
    table_rows.push_back(split_row(rows[r].title, values[r], decimals));
  return {{"title", title},
          {"note", note},
          {"findings", findings_against_sft(rows, values, wording, decimals)},
          {"columns", split_columns()},
          {"rows", table_rows}};
}

// The entropy of the VLMs' word maps and of the teacher's maps of the same words (resized to the
// VLM's map size by the eval), and per split each VLM against the teacher.
json entropy_table(const std::string& out, const DemoPreset& preset,
                   const std::string& spread_rule) {
  const std::vector<Row> rows = model_rows(preset);
  const SplitValues values =
      read_split_values(out, rows, {"attention", "vs_teacher", "overall", "entropy"});
  // Every run scores the same teacher maps: the first run that has them gives the teacher's row.
  const SplitValues teacher_by_row =
      read_split_values(out, rows, {"attention", "vs_teacher", "overall", "reference_entropy"});
  std::vector<std::vector<double>> teacher(demo_test_splits().size());
  for (size_t s = 0; s < teacher.size(); ++s)
    for (const auto& row : teacher_by_row)
      if (teacher[s].empty() && !row[s].empty()) teacher[s] = {row[s].front()};

  json table_rows =
      json::array({split_row("the diffusion model (teacher), same words", teacher, 3)});
  for (size_t r = 0; r < rows.size(); ++r)
    table_rows.push_back(split_row(rows[r].title, values[r], 3));
  json findings = json::array();
  for (size_t s = 0; s < teacher.size(); ++s) {
    std::vector<ModelResult> models;
    for (size_t r = 0; r < rows.size(); ++r) models.push_back({rows[r].name, values[r][s]});
    const std::string f =
        comparison_finding(demo_test_splits()[s], {"the diffusion model's maps", teacher[s]},
                           models, {"sharper", "flatter"});
    if (!f.empty()) findings.push_back(f);
  }
  return {{"title", "Attention entropy of the word maps"},
          {"note",
           "Normalised spatial entropy of each word's map (1 = uniform, lower = sharper); the "
           "diffusion model's maps of the same words resized to the VLM's map size." +
               spread_rule},
          {"findings", findings},
          {"columns", split_columns()},
          {"rows", table_rows}};
}

std::string fixed(double v, int decimals = 3) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// The diffusion model's maps against the truth, per word class.
json teacher_table(const std::string& out) {
  const json r = read_json_or_null(out + "/eval/dm-maps/results.json");
  json rows = json::array();
  const json* scores = r.is_object() && r.contains("maps_vs_truth") ? &r["maps_vs_truth"] : nullptr;
  auto add = [&](const std::string& name, const json& m) {
    json cells = json::array({name});
    for (const char* k : {"n", "iou", "soft_iou", "mass_inside", "peak_on_object", "entropy"}) {
      if (!m.contains(k) || !m[k].is_number())
        cells.push_back("–");
      else if (std::string(k) == "n")
        cells.push_back(std::to_string(m[k].get<int64_t>()));
      else
        cells.push_back(fixed(m[k].get<double>()));
    }
    rows.push_back(cells);
  };
  if (scores) {
    if (scores->contains("classes"))
      for (const auto& [name, m] : (*scores)["classes"].items()) add(name + " words", m);
    if (scores->contains("overall")) add("all words", (*scores)["overall"]);
  }
  return {
      {"title", "The teacher: diffusion-model maps against ground-truth masks (test-id)"},
      {"note",
       "IoU after thresholding; soft IoU = Σmin/Σmax; mass inside = share of the map's mass on "
       "the object; peak on object = the map's maximum lies on it; entropy normalised to [0, 1], "
       "at the "
       "diffusion model's own map size (the entropy table compares it with the VLMs' at "
       "theirs)."},
      {"columns", {"words", "n", "IoU", "soft IoU", "mass inside", "peak on object", "entropy"}},
      {"rows", rows}};
}

// The optimizer steps a training stage asks for (--max-steps / --steps), or 0.
int64_t stage_steps(const Stage& s) {
  for (size_t i = 0; i + 1 < s.args.size(); ++i)
    if (s.args[i] == "--max-steps" || s.args[i] == "--steps") return std::stoll(s.args[i + 1]);
  return 0;
}

struct StageTimes {
  double total = 0;  // sum of the stages' times
  // The time during which some stage ran: the union of the stages' intervals, so that stages
  // reused from a run days earlier do not count the days in between.
  double wall = 0;
};

double busy_seconds(std::vector<std::pair<double, double>> intervals) {
  std::sort(intervals.begin(), intervals.end());
  double busy = 0, start = 0, end = 0;
  bool open = false;
  for (const auto& [a, b] : intervals) {
    if (open && a <= end) {
      end = std::max(end, b);
      continue;
    }
    if (open) busy += end - start;
    start = a, end = b, open = true;
  }
  return open ? busy + (end - start) : busy;
}

json stage_table(const std::string& out, const std::vector<Stage>& plan, StageTimes* times) {
  json rows = json::array();
  std::vector<std::pair<double, double>> intervals;
  for (const auto& s : plan) {
    const json r = read_json_or_null(stage_record_path(out, s.name));
    const auto seconds = number_at(r, {"seconds"});
    const auto finished = number_at(r, {"finished_at"});
    std::string speed = "";
    if (seconds) {
      times->total += *seconds;
      if (const int64_t steps = stage_steps(s); steps > 0 && *seconds > 0)
        speed = fixed(static_cast<double>(steps) / *seconds, 2);
    }
    if (seconds && finished) intervals.emplace_back(*finished - *seconds, *finished);
    rows.push_back({s.name, s.title, seconds ? Progress::format_duration(*seconds) : "–", speed});
  }
  times->wall = busy_seconds(intervals);
  return {{"title", "Stages"},
          {"note",
           "Wall time of each stage's last run (up to one stage per core ran side by "
           "side); steps/s of the training stages counts their loading and saving too."},
          {"columns", {"stage", "what", "time", "steps/s"}},
          {"rows", rows}};
}

// Loss curves of the fine-tuning runs of seed 0, named as the findings and grids name the arms,
// each arm in the same colour on every chart.
json curves(const std::string& out) {
  json text = {{"title", "Text loss"}, {"y_label", "next-token loss"}, {"series", json::array()}};
  json att = {
      {"title", "Attention loss (Lavender arms)"}, {"y_label", "L_att"}, {"series", json::array()}};
  for (size_t a = 0; a < demo_arms().size(); ++a) {
    const Arm& arm = demo_arms()[a];
    const std::string path = out + "/vlm/" + arm.name + "-s0/metrics.jsonl";
    if (!std::filesystem::exists(path)) continue;
    json x = json::array(), yt = json::array(), ya = json::array();
    try {
      for (const auto& row : train::read_metrics_log(path)) {
        x.push_back(row.step);
        for (const auto& [name, value] : row.values) {
          if (name == "text") yt.push_back(value);
          if (name == "attention") ya.push_back(value);
        }
      }
    } catch (const std::exception&) {
      continue;  // a broken log leaves its curve out
    }
    text["series"].push_back({{"name", arm.short_title}, {"colour", a}, {"x", x}, {"y", yt}});
    if (arm.name != "sft")
      att["series"].push_back({{"name", arm.short_title}, {"colour", a}, {"x", x}, {"y", ya}});
  }
  return json::array({text, att});
}

}  // namespace

nlohmann::json read_json_or_null(const std::string& path) {
  std::ifstream in(path);
  if (!in) return nullptr;
  return json::parse(in, nullptr, /*allow_exceptions=*/false);
}

std::optional<double> number_at(const nlohmann::json& j, std::initializer_list<const char*> keys) {
  const json* at = &j;
  for (const char* k : keys) {
    if (!at->is_object() || !at->contains(k)) return std::nullopt;
    at = &(*at)[k];
  }
  if (!at->is_number()) return std::nullopt;
  return at->get<double>();
}

json gather_report(const DemoOptions& options, const std::vector<Stage>& plan) {
  const DemoPreset preset = demo_preset(options);
  const std::string& out = options.out;
  StageTimes times;
  json stages = stage_table(out, plan, &times);
  const bool one_seed = preset.seeds == 1;
  const std::string seeds =
      std::to_string(preset.seeds) + (one_seed ? " fine-tuning seed" : " fine-tuning seeds");
  // How the findings decide that two results differ (report_findings.h), said once per table
  // rather than in every finding.
  const std::string spread_rule =
      one_seed ? " One fine-tuning seed: the findings compare single runs, with no spread over "
                 "seeds to tell a difference from noise."
               : " Two results differ when their means are further apart than the sum of their "
                 "standard deviations over seeds.";
  json tables = json::array();
  tables.push_back(
      split_table(out, preset, "Answer accuracy",
                  "Exact match after VQA-style normalisation; " +
                      (one_seed ? std::string("one fine-tuning seed, so no spread is shown.")
                                : "mean ± standard deviation over " + seeds + ".") +
                      spread_rule,
                  {"accuracy", "overall", "accuracy"}, {"lower", "higher"}));
  tables.push_back(split_table(
      out, preset, "Grounding: the VLM's word maps against ground-truth masks (IoU)",
      "Per word, attention pooled over heads and layers, thresholded; higher is better." +
          spread_rule,
      {"attention", "vs_truth", "overall", "iou"}, {"lower", "higher"}));
  tables.push_back(split_table(
      out, preset,
      "Alignment with the teacher: MSE between the VLM's and the diffusion model's maps",
      "Both maps min-max normalised; lower is closer to the teacher." + spread_rule,
      {"attention", "vs_teacher", "overall", "mse"},
      {"lower (closer to the teacher)", "higher (further from the teacher)"}, 4));
  tables.push_back(entropy_table(out, preset, spread_rule));
  tables.push_back(teacher_table(out));
  tables.push_back(stages);
  const std::string preset_name = options.quick ? "quick" : "default";
  return {
      {"title", "Lavender on the shapes world"},
      {"subtitle",
       "lavender demo, " + preset_name + " preset, --seed " + std::to_string(options.seed) + ", " +
           seeds + " per arm; the stages ran for " + Progress::format_duration(times.wall) + " (" +
           Progress::format_duration(times.total) + " of stage time side by side)"},
      {"tables", tables},
      {"curves", curves(out)},
      {"figures", json::array()},
      {"notes", json::array()}};
}

}  // namespace lavender::demo
