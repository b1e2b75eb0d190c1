#include <cstdio>
#include <cstdlib>

#include "commands.h"
#include "lavender/eval/alignment_figure.h"
#include "lavender/io/json_file.h"
#include "lavender/train/memory_plan.h"
#include "lavender/train/trainer.h"
#include "lavender/util/args.h"
#include "lavender/util/error.h"
#include "lavender/util/log.h"

namespace lavender::cli {
namespace {

// The memory plan of this run (lavender plan with the same options) before any weight loads.
void print_plan(const train::TrainOptions& options) {
  try {
    train::PlanOptions plan = train::plan_options_from(options);
    if (const char* world = std::getenv("WORLD_SIZE")) plan.world_size = std::atoll(world);
    const vlm::ParameterCount count = vlm::count_parameters(options.model);
    log::info("memory plan (lavender plan):\n",
              train::format_plan(count, plan, train::plan_memory(count, plan)));
  } catch (const Error& e) {
    log::debug("no memory plan: ", e.what());  // the trainer reports a bad model itself
  }
}

}  // namespace

int run_train(const Args& args) {
  const train::TrainOptions defaults;
  ArgParser parser("train",
                   "Fine-tunes a VLM with the Lavender objective: next-token loss + lambda x MSE "
                   "between its per-word attention (through the Aligner) and the teacher's maps. "
                   "--lambda 0 is plain supervised fine-tuning.");
  parser.option("config", "JSON file of options ({\"name\": value}); the command line wins");
  for (const auto& spec : train::train_option_specs()) {
    if (spec.is_flag)
      parser.flag(spec.name, spec.help);
    else
      parser.option(spec.name, spec.help, spec.get(defaults));
  }
  if (!parser.parse(args)) {
    std::printf("%s", parser.help().c_str());
    return 0;
  }
  train::TrainOptions options;
  if (parser.has("config"))
    train::apply_config(options, io::read_json_file(parser.get("config")), parser.get("config"));
  for (const auto& spec : train::train_option_specs())
    if (parser.has(spec.name)) spec.set(options, spec.is_flag ? "true" : parser.get(spec.name));

  print_plan(options);
  train::Trainer trainer(options);
  trainer.set_figure_drawer(eval::progress_figure);
  trainer.set_step_callback([&](const train::StepRecord& r) {
    if (r.step % options.log_every != 0 && r.step != options.max_steps) return;
    log::info("step ", r.step, "/", options.max_steps, " loss ", r.total, " (text ", r.text,
              ", attention ", r.attention, " x ", r.lambda, ") lr ", r.lr, " grad ", r.grad_norm,
              r.skipped ? " SKIPPED" : "", " ", static_cast<int64_t>(r.tokens_per_s), " tok/s");
  });
  const train::TrainSummary s = trainer.run();
  std::printf(
      "train: %s at step %lld; %lld skipped steps, %lld bad samples, %lld samples without "
      "teacher maps, %lld without matched words\n",
      s.interrupted ? "stopped" : "finished", static_cast<long long>(s.steps),
      static_cast<long long>(s.skipped_steps), static_cast<long long>(s.bad_samples),
      static_cast<long long>(s.samples_without_maps),
      static_cast<long long>(s.samples_without_words));
  if (!s.model_dir.empty()) std::printf("train: model in %s\n", s.model_dir.c_str());
  std::printf("train: checkpoint %s\n", s.checkpoint.c_str());
  return s.interrupted ? 130 : 0;
}

}  // namespace lavender::cli
