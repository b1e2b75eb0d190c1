#include "lavender/demo/demo_plan.h"

#include "lavender/demo/map_grids.h"
#include "lavender/demo/plan_parts.h"
#include "lavender/demo/study_plan.h"

#include <string>

namespace lavender::demo {

DemoPreset demo_preset(const DemoOptions& o) {
  DemoPreset p;
  if (o.quick) {
    p.train_images = 600;
    p.test_images = 60;
    p.dm_steps = 80;
    p.pretrain_steps = 100;
    p.finetune_steps = 100;
    p.eval_limit = 60;
  }
  if (o.seeds > 0) p.seeds = o.seeds;
  return p;
}

const std::vector<Arm>& demo_arms() {
  static const std::vector<Arm> arms = {
      {"sft", "SFT (λ = 0)", "SFT"},
      {"lavender-dm", "Lavender, diffusion model's maps", "Lavender-DM"},
      {"lavender-truth", "Lavender, ground-truth maps", "Lavender-GT"}};
  return arms;
}

const std::vector<std::string>& demo_test_splits() {
  static const std::vector<std::string> splits = {"test-id", "test-ood-combo", "test-ood-crowded",
                                                  "test-ood-size"};
  return splits;
}

std::vector<Stage> demo_plan(const DemoOptions& o) {
  const DemoPreset preset = demo_preset(o);
  const PlanPaths p(o.out);
  const std::string seed = arg_number(static_cast<int64_t>(o.seed));
  std::vector<Stage> plan;
  // Plan order is the priority among ready stages: the long diffusion training starts first.
  plan.push_back(make_stage("synth", "the shapes world",
                       {"synth", "--out", p.world, "--seed", seed, "--train",
                        arg_number(int64_t{preset.train_images}), "--test",
                        arg_number(int64_t{preset.test_images})},
                       {p.world + "/world.json"}, p.world, {}));
  plan.push_back(make_stage("train-dm", "the diffusion model, from scratch on captions",
                       {"train-dm", "--data", p.world + "/captions.jsonl", "--images", p.world,
                        "--vocabulary-data", p.split_data("train"), "--out", p.dm, "--steps",
                        arg_number(preset.dm_steps), "--seed", seed},
                       {p.dm + "/unet/config.json"}, p.dm, {"synth"}));
  plan.push_back(make_stage("init-vlm", "a VLM with random weights",
                       {"init-vlm", "--out", p.vlm + "/init", "--seed", seed, "--corpus",
                        p.world + "/captions.jsonl," + p.split_data("train")},
                       {p.vlm + "/init/config.json"}, p.vlm + "/init", {"synth"}));
  plan.push_back(make_stage("pretrain-vlm", "the VLM, from scratch on captions",
                       with(vlm_train_args(preset, p.vlm + "/init", p.world + "/captions.jsonl",
                                           p.world, p.vlm + "/pretrain", preset.pretrain_steps,
                                       preset.pretrain_lr, o.seed),
                            {"--lambda", "0"}),
                       {p.vlm + "/pretrain/model/config.json"}, p.vlm + "/pretrain",
                       {"synth", "init-vlm"}));

  auto maps_stage = [&](const std::string& split) {
    return make_stage("maps-" + split, "the diffusion model's maps for " + split,
                 {"sd-attn", "--model", p.dm, "--data", p.split_data(split), "--images", p.world,
                  "--out", p.maps + "/" + split, "--text", "all", "--recipe", "small-dm",
                  "--batch", "32", "--seed", seed},
                 {p.maps + "/" + split + "/store.json"}, p.maps + "/" + split,
                 {"synth", "train-dm"});
  };
  std::vector<std::string> models = {"pretrain"};
  auto finetune_stage = [&](const Arm& arm, int s) {
    const std::string name = arm.name + "-s" + arg_number(int64_t{s});
    const uint64_t arm_seed = o.seed + static_cast<uint64_t>(s);
    std::vector<std::string> args =
        vlm_train_args(preset, p.vlm + "/pretrain/model", p.split_data("train"), p.world,
                       p.vlm + "/" + name, preset.finetune_steps, preset.finetune_lr, arm_seed);
    std::vector<std::string> after = {"synth", "pretrain-vlm"};
    if (arm.name == "sft") {
      args.insert(args.end(), {"--lambda", "0"});
    } else {
      args = with(args, lavender_arm_args(preset, arm.name == "lavender-dm" ? p.maps + "/train"
                                                                             : p.truth("train")));
      if (arm.name == "lavender-dm") after.push_back("maps-train");
    }
    models.push_back(name);
    return make_stage("finetune-" + name, arm.title + ", seed " + arg_number(int64_t{s}), args,
                 {p.vlm + "/" + name + "/model/config.json"}, p.vlm + "/" + name, after);
  };
  // The diffusion model's path (its maps, then the arm that reads them) goes first whenever it
  // is ready; the other arms fill the cores until then.
  plan.push_back(maps_stage("train"));
  for (int s = 0; s < preset.seeds; ++s)
    for (const auto& arm : demo_arms())
      if (arm.name == "lavender-dm") plan.push_back(finetune_stage(arm, s));
  for (int s = 0; s < preset.seeds; ++s)
    for (const auto& arm : demo_arms())
      if (arm.name != "lavender-dm") plan.push_back(finetune_stage(arm, s));
  for (const auto& split : demo_test_splits()) plan.push_back(maps_stage(split));

  plan.push_back(make_stage("score-dm-maps", "the diffusion model's maps against the truth",
                       {"eval", "--maps", p.maps + "/test-id", "--truth", p.truth("test-id"),
                        "--word-classes", p.world + "/world.json", "--out",
                        p.eval + "/dm-maps"},
                       {p.eval + "/dm-maps/results.json"}, p.eval + "/dm-maps",
                       {"synth", "maps-test-id"}));

  for (const auto& model : models)
    for (const auto& split : demo_test_splits()) {
      std::vector<std::string> args = {
          "eval",    "--model", p.vlm + "/" + model + "/model", "--data", p.split_data(split),
          "--maps",  p.maps + "/" + split, "--truth", p.truth(split), "--word-classes",
          p.world + "/world.json", "--out", p.eval + "/" + model + "/" + split,
          "--save-maps", saved_vlm_maps(o.out, model, split), "--save-maps-limit", "4"};
      if (preset.eval_limit > 0) args.insert(args.end(), {"--limit", arg_number(preset.eval_limit)});
      plan.push_back(make_stage("eval-" + model + "-" + split, model + " on " + split, args,
                           {p.eval + "/" + model + "/" + split + "/results.json"},
                           p.eval + "/" + model + "/" + split,
                           {"synth", model == "pretrain" ? "pretrain-vlm" : "finetune-" + model,
                            "maps-" + split}));
    }
  if (o.study) {
    const std::vector<Stage> study = study_plan(o);
    plan.insert(plan.end(), study.begin(), study.end());
  }
  return plan;
}

}  // namespace lavender::demo
