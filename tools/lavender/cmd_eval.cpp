#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "commands.h"
#include "lavender/align/resampled_attention_maps.h"
#include "lavender/eval/accuracy_run.h"
#include "lavender/eval/attention_scores.h"
#include "lavender/eval/benchmark.h"
#include "lavender/eval/map_scores.h"
#include "lavender/io/json_file.h"
#include "lavender/io/map_store.h"
#include "lavender/runtime/device.h"
#include "lavender/runtime/dtype.h"
#include "lavender/train/train_options.h"
#include "lavender/util/args.h"
#include "lavender/util/atomic_file.h"
#include "lavender/util/error.h"
#include "lavender/util/log.h"
#include "lavender/util/progress.h"
#include "lavender/vlm/chat_model.h"

namespace lavender::cli {
namespace {

// Problems are listed in results.json and the first few printed; all are counted.
void report_problems(const std::vector<std::string>& problems, const char* what) {
  const size_t shown = std::min<size_t>(problems.size(), 10);
  for (size_t i = 0; i < shown; ++i) log::warn(problems[i]);
  if (!problems.empty())
    log::warn(std::to_string(problems.size()) + " " + what + " skipped" +
              (problems.size() > shown ? " (all listed in results.json)" : ""));
}

void print_map_table(const char* title, const eval::MapScoreSummary& summary) {
  std::printf("\n%s (%zu words)\n%s", title, summary.count(), summary.table().c_str());
}

}  // namespace

int run_eval(const Args& args) {
  ArgParser parser("eval",
                   "Scores a VLM on a conversation-format benchmark (accuracy per question type, "
                   "exact match after VQA-style normalisation or multiple choice) and its "
                   "per-word attention against teacher maps and ground truth; or, without "
                   "--model, one map store against another.");
  parser.option("model", "VLM folder: LLaVA-1.5, Llama 3.2 Vision, MiniCPM-V or OpenFlamingo")
      .option("data", "benchmark: LLaVA conversation JSON/JSONL with optional answer/type/choices")
      .option("image-root", "folder relative image paths are joined onto (default: the data's)")
      .option("out", "output folder: results.json, predictions.jsonl")
      .option("limit", "score only the first N benchmark items (0: all)", "0")
      .option("max-new-tokens", "most tokens to generate per answer", "8")
      .option("mc", "multiple choice by: generate (reply matched to a choice) | likelihood",
              "generate")
      .flag("answer-loss",
            "also the reference answer's loss as the reply (training's text loss, per token): "
            "on training data against test data it shows over-fitting")
      .option("maps",
              "teacher map store (the VLM's maps are scored against it; without "
              "--model, scored against --truth)")
      .option("truth", "ground-truth map store (e.g. a shapes world's truth/<split>)")
      .option("word-classes",
              "JSON {\"colour\": [...], \"shape\": [...]} or a world.json with a vocabulary")
      .option("aggregation", "how the VLM's heads/layers are pooled (see lavender train)",
              "heads-mean")
      .option("layers", "VLM decoder layers to read (default: LLaVA all, mllama cross-attention)")
      .option("map-size", "side of the VLM maps", "32")
      .option("latent-maps",
              "OpenFlamingo, MiniCPM-V: attention to resampled tokens as maps through the "
              "resampler's attention to patches (composed) or as a raster of tokens (square); "
              "read them as the model was trained",
              train::TrainOptions().latent_maps)
      .option("sliced-views",
              "MiniCPM-V: the views that make a word's map: both (source picture and slices) | "
              "source | slices",
              train::TrainOptions().sliced_views)
      .option("device", "cpu | cuda | cuda:N (bare cuda under torchrun: cuda:LOCAL_RANK)", "cpu")
      .option("dtype", "fp32 | bf16 | fp16 (CUDA): the weights are loaded straight into it", "fp32")
      .option("save-maps",
              "also write the VLM's pooled per-word maps of the first --save-maps-limit scored "
              "records into this map store (for figures)")
      .option("save-maps-limit", "records kept by --save-maps", "16")
      .option("map-threshold",
              "IoU: a map is on where its min-max normalised value >= this (DAAM's tau)", "0.4")
      .option("truth-threshold", "IoU: a truth mask is on where its normalised value >= this",
              "0.5");
  if (!parser.parse(args)) {
    std::printf("%s", parser.help().c_str());
    return 0;
  }
  if (!parser.has("out")) throw Error("eval: --out is required");
  if (!parser.has("model") && !(parser.has("maps") && parser.has("truth")))
    throw Error("eval: give --model and --data (accuracy), or --maps and --truth (map scores)");
  if (parser.has("model") != parser.has("data"))
    throw Error("eval: --model and --data go together");
  const std::string mc = parser.get("mc");
  if (mc != "generate" && mc != "likelihood")
    throw Error("eval: --mc must be generate or likelihood, not \"" + mc + "\"");

  const align::LatentMaps latent_maps = align::parse_latent_maps(parser.get("latent-maps"));
  const align::SlicedViews sliced_views = align::parse_sliced_views(parser.get("sliced-views"));
  const std::string out = parser.get("out");
  std::filesystem::create_directories(out);
  eval::WordClasses classes;
  if (parser.has("word-classes"))
    classes = eval::word_classes(io::read_json_file(parser.get("word-classes")),
                                 parser.get("word-classes"));
  eval::MapScoreOptions scores;
  scores.map_threshold = parser.get_double("map-threshold");
  scores.reference_threshold = parser.get_double("truth-threshold");
  std::optional<io::MapStoreReader> teacher, truth;
  if (parser.has("maps")) teacher = io::MapStoreReader::open(parser.get("maps"));
  if (parser.has("truth")) truth = io::MapStoreReader::open(parser.get("truth"));

  nlohmann::json results = {
      {"thresholds", {{"map", scores.map_threshold}, {"truth", scores.reference_threshold}}}};
  if (teacher && truth) {
    const eval::StoreComparison c = eval::compare_stores(*teacher, *truth, classes, scores);
    results["maps_vs_truth"] = c.to_json();
    results["maps_vs_truth"]["maps"] = parser.get("maps");
    results["maps_vs_truth"]["truth"] = parser.get("truth");
    print_map_table("maps vs truth", c.summary);
    if (c.missing_keys)
      log::warn(std::to_string(c.missing_keys) + " key(s) of --maps not in --truth");
  }

  if (parser.has("model")) {
    const std::string data = parser.get("data");
    eval::Benchmark bench = eval::read_benchmark(data, parser.get("image-root"));
    report_problems(bench.problems, "benchmark record(s)");
    std::vector<eval::BenchmarkItem> items = bench.items;
    const int64_t limit = parser.get_int("limit");
    if (limit < 0) throw Error("eval: --limit must be >= 0");
    if (limit > 0 && static_cast<size_t>(limit) < items.size())
      items.resize(static_cast<size_t>(limit));
    auto model =
        vlm::ChatModel::load(parser.get("model"), runtime::parse_dtype(parser.get("dtype")),
                             runtime::parse_device(parser.get("device")));
    model->set_latent_maps(latent_maps);
    model->set_sliced_views(sliced_views);

    eval::AccuracyOptions options;
    options.max_new_tokens = parser.get_int("max-new-tokens");
    options.likelihood = mc == "likelihood";
    options.answer_loss = parser.has("answer-loss");
    eval::AccuracyRun run;
    {
      Progress progress("answer", static_cast<int64_t>(items.size()));
      run = eval::run_accuracy(*model, items, out + "/predictions.jsonl", options,
                               [&] { progress.advance(); });
    }
    report_problems(run.problems, "item(s)");
    std::printf("%s", run.table.table().c_str());
    results["model"] = parser.get("model");
    results["benchmark"] = data;
    results["mode"] = options.likelihood ? "likelihood" : "generate";
    results["max_new_tokens"] = options.max_new_tokens;
    results["items"] = items.size();
    results["answered_now"] = run.answered;
    results["resumed"] = run.resumed;
    results["accuracy"] = run.table.to_json();
    if (options.answer_loss) {
      results["answer_loss"] = {{"mean", run.answer_loss.mean()},
                                {"tokens", run.answer_loss.tokens},
                                {"items", run.answer_loss.items}};
      std::printf("answer loss: %.4f per token over %zu items\n", run.answer_loss.mean(),
                  run.answer_loss.items);
    }
    std::vector<std::string> problems = bench.problems;
    problems.insert(problems.end(), run.problems.begin(), run.problems.end());
    results["skipped"] = problems.size();
    results["problems"] = problems;

    if (teacher || truth) {
      eval::VlmMapOptions map_options;
      map_options.aggregation = parser.get("aggregation");
      map_options.layers = parser.get_int_list("layers");
      map_options.map_size = parser.get_int("map-size");
      map_options.scores = scores;
      eval::VlmMapScorer scorer(*model, teacher ? &*teacher : nullptr, truth ? &*truth : nullptr,
                                classes, map_options);
      std::optional<io::MapStoreWriter> kept;
      if (parser.has("save-maps")) {
        const int64_t keep_limit = parser.get_int("save-maps-limit");
        if (keep_limit < 0) throw Error("eval: --save-maps-limit must be >= 0");
        kept.emplace(parser.get("save-maps"),
                     nlohmann::json{{"map_size", map_options.map_size},
                                    {"recipe", "vlm:" + map_options.aggregation},
                                    {"model", parser.get("model")}});
        scorer.keep_maps(&*kept, static_cast<size_t>(keep_limit));
      }
      std::vector<std::string> map_problems;
      {
        Progress progress("attention", static_cast<int64_t>(items.size()));
        for (const auto& item : items) {
          try {
            scorer.add(item, io::read_image(item.image));
          } catch (const Error& e) {
            map_problems.push_back(item.origin + ": " + e.what());
          }
          progress.advance();
        }
      }
      report_problems(map_problems, "item(s) without attention scores");
      if (kept) {
        kept->flush();
        results["attention"]["saved_maps"] = parser.get("save-maps");
      }
      results["attention"].update(scorer.to_json());
      results["attention"]["latent_maps"] = align::latent_maps_name(latent_maps);
      results["attention"]["sliced_views"] = align::sliced_views_name(sliced_views);
      results["attention"]["problems"] = map_problems;
      if (teacher) print_map_table("VLM vs teacher maps", scorer.vs_teacher());
      if (truth) print_map_table("VLM vs truth", scorer.vs_truth());
      if (scorer.missing())
        log::warn(std::to_string(scorer.missing()) + " item(s) in neither map store");
    }
  }
  write_file_atomically(
      out + "/results.json",
      results.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  std::printf("results written to %s/results.json\n", out.c_str());
  return 0;
}

}  // namespace lavender::cli
