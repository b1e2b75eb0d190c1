#include <cstdio>
#include <string>

#include "commands.h"
#include "lavender/demo/demo.h"
#include "lavender/util/args.h"
#include "lavender/util/error.h"
#include "lavender/util/progress.h"

namespace lavender::cli {

int run_demo(const Args& args) {
  ArgParser parser(
      "demo",
      "The whole method on the shapes world, no downloads: builds the world, trains a diffusion "
      "model and a VLM from scratch, extracts the teacher's maps, fine-tunes the VLM three ways "
      "(SFT, Lavender with the diffusion model's maps, Lavender with ground-truth maps), "
      "evaluates them and writes OUT/report.html. Finished stages are reused when re-run.");
  parser.option("out", "output folder", "demo-out")
      .flag("quick", "the small preset (about 2 minutes on 2 cores; default: about 10)")
      .option("seed", "seed of the world, the models and the fine-tunes", "0")
      .option("seeds", "fine-tuning seeds per arm (0: the preset's; the study's: 3)", "0")
      .flag("study",
            "also the scaling study: every arm on 1/16, 1/4, 1 and 4 times the fine-tuning "
            "questions, 3 seeds each, with accuracy, grounding and train-vs-test loss (about "
            "an hour on 2 cores)")
      .flag("force", "run every stage again, even those finished earlier")
      .flag("report-only", "only redraw the report from what earlier runs left");
  if (!parser.parse(args)) {
    std::printf("%s", parser.help().c_str());
    return 0;
  }
  demo::DemoOptions o;
  o.out = parser.get("out");
  o.quick = parser.has("quick");
  o.seed = static_cast<uint64_t>(parser.get_int("seed"));
  o.seeds = static_cast<int>(parser.get_int("seeds"));
  o.study = parser.has("study");
  if (o.seeds < 0) throw Error("demo: --seeds must be 0 or more");
  const demo::DemoRun run = demo::run_demo(o, "", parser.has("force"), parser.has("report-only"));
  std::printf("report: %s\nmetrics: %s\ntime: %s\n", run.report.c_str(), run.metrics.c_str(),
              Progress::format_duration(run.seconds).c_str());
  return 0;
}

}  // namespace lavender::cli
