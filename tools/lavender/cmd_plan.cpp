#include <cstdio>

#include "commands.h"
#include "lavender/io/json_file.h"
#include "lavender/train/memory_plan.h"
#include "lavender/train/train_options.h"
#include "lavender/util/args.h"
#include "lavender/util/error.h"

namespace lavender::cli {

int run_plan(const Args& args) {
  const train::TrainOptions defaults;
  ArgParser parser("plan",
                   "Says what a training run needs per rank before it starts: exact parameter "
                   "counts (total, trainable) and the bytes of weights, master weights, "
                   "gradients, AdamW state and activations (an estimate), under a sharding "
                   "strategy, and whether that fits a GPU. Reads only --model's config.json, so "
                   "it answers for models you have not downloaded. Takes train's options.");
  parser.option("world-size", "ranks the run is spread over", "1");
  parser.option("gpu-memory", "GiB per GPU: say whether the run fits (0: no verdict)", "0");
  parser.option("seq-len", "text tokens per sample (image tokens come on top)", "512");
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
  for (const auto& spec : train::train_option_specs())
    if (parser.has(spec.name)) spec.set(options, spec.is_flag ? "true" : parser.get(spec.name));
  if (options.model.empty()) throw Error("plan: --model (a folder or its config.json) is required");
  train::PlanOptions plan = train::plan_options_from(options);
  plan.seq_len = parser.get_int("seq-len");
  plan.world_size = parser.get_int("world-size");
  plan.gpu_memory_gib = parser.get_double("gpu-memory");
  const vlm::ParameterCount count = vlm::count_parameters(options.model);
  const train::MemoryPlan result = train::plan_memory(count, plan);
  std::printf("%s", train::format_plan(count, plan, result).c_str());
  return 0;
}

}  // namespace lavender::cli
