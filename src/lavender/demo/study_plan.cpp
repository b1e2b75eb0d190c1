#include "lavender/demo/study_plan.h"

#include "lavender/demo/plan_parts.h"

namespace lavender::demo {

const std::vector<StudySize>& study_sizes() {
  static const std::vector<StudySize> sizes = {
      {"1-16", "1/16", "1/16 of the questions", 1, 16},
      {"1-4", "1/4", "1/4 of the questions", 1, 4},
      {"1x", "1", "all the questions", 1, 1},
      {"4x", "4", "4× the questions", 4, 1}};
  return sizes;
}

StudyPreset study_preset(const DemoOptions& o) {
  StudyPreset s;
  if (o.quick) {
    s.steps = 40;
    s.seeds = 2;
    s.eval_limit = 40;
    s.train_eval_limit = 40;
  }
  if (o.seeds > 0) s.seeds = o.seeds;
  return s;
}

std::string study_run_name(const std::string& arm, const StudySize& size, int seed) {
  return "study-" + arm + "-" + size.tag + "-s" + std::to_string(seed);
}

std::string study_world(const std::string& out) { return out + "/world-4x"; }

int64_t study_max_samples(const DemoPreset& preset, const StudySize& size) {
  if (size.numerator >= size.denominator) return 0;
  return int64_t{preset.train_images} * preset.questions_per_image * size.numerator /
         size.denominator;
}

std::vector<Stage> study_plan(const DemoOptions& o) {
  const DemoPreset preset = demo_preset(o);
  const StudyPreset study = study_preset(o);
  const PlanPaths p(o.out);
  const std::string seed = arg_number(static_cast<int64_t>(o.seed));
  const std::string world4 = study_world(o.out), maps4 = p.maps + "/train-4x";
  std::vector<Stage> plan;
  // The larger world first: its maps are the longest of the study's preparations.
  plan.push_back(make_stage("synth-4x", "the shapes world with 4× the training images",
                            {"synth", "--out", world4, "--seed", seed, "--train",
                             arg_number(int64_t{4} * preset.train_images), "--test", "0"},
                            {world4 + "/world.json"}, world4, {}));
  plan.push_back(make_stage("maps-train-4x", "the diffusion model's maps for the 4× training set",
                            {"sd-attn", "--model", p.dm, "--data", world4 + "/train.jsonl",
                             "--images", world4, "--out", maps4, "--text", "all", "--recipe",
                             "small-dm", "--batch", "32", "--seed", seed},
                            {maps4 + "/store.json"}, maps4, {"synth-4x", "train-dm"}));

  std::vector<std::string> runs;
  for (const StudySize& size : study_sizes())
    for (int s = 0; s < study.seeds; ++s)
      for (const Arm& arm : demo_arms()) {
        const bool large = size.numerator > size.denominator;
        const std::string run = study_run_name(arm.name, size, s);
        const std::string folder = p.vlm + "/study/" + run;
        std::vector<std::string> args = vlm_train_args(
            preset, p.vlm + "/pretrain/model",
            large ? world4 + "/train.jsonl" : p.split_data("train"), large ? world4 : p.world,
            folder, study.steps, preset.finetune_lr, o.seed + static_cast<uint64_t>(s));
        if (const int64_t n = study_max_samples(preset, size); n > 0)
          args = with(args, {"--max-samples", arg_number(n)});
        std::vector<std::string> after = {"synth", "pretrain-vlm"};
        if (large) after.push_back("synth-4x");
        if (arm.name == "sft") {
          args = with(args, {"--lambda", "0"});
        } else if (arm.name == "lavender-dm") {
          args = with(args, lavender_arm_args(preset, large ? maps4 : p.maps + "/train"));
          after.push_back(large ? "maps-train-4x" : "maps-train");
        } else {
          args = with(args, lavender_arm_args(preset, large ? world4 + "/truth/train"
                                                             : p.truth("train")));
        }
        plan.push_back(make_stage(run, arm.title + ", " + size.phrase + ", seed " +
                                           std::to_string(s),
                                  args, {folder + "/model/config.json"}, folder, after));
        runs.push_back(run);
      }

  // Scores: every test split (grounding against the truth; the answer loss on test-id), and the
  // answer loss on the first training questions, which every set size trained on.
  for (const auto& run : runs) {
    const std::string model = p.vlm + "/study/" + run + "/model";
    auto eval_stage = [&](const std::string& split, std::vector<std::string> args) {
      const std::string out = p.eval + "/study/" + run + "/" + split;
      args = with({"eval", "--model", model, "--out", out}, args);
      return make_stage("eval-" + run + "-" + split, run + " on " + split, args,
                        {out + "/results.json"}, out, {"synth", run});
    };
    for (const auto& split : demo_test_splits()) {
      std::vector<std::string> args = {"--data", p.split_data(split), "--truth", p.truth(split),
                                       "--word-classes", p.world + "/world.json", "--limit",
                                       arg_number(study.eval_limit)};
      if (split == "test-id") args.push_back("--answer-loss");
      plan.push_back(eval_stage(split, args));
    }
    plan.push_back(eval_stage("train", {"--data", p.split_data("train"), "--limit",
                                        arg_number(study.train_eval_limit), "--answer-loss"}));
  }
  return plan;
}

}  // namespace lavender::demo
