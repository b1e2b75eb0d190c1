#include "lavender/demo/demo_plan.h"

#include "lavender/demo/map_grids.h"

#include <string>

namespace lavender::demo {
namespace {

std::string str(int64_t v) { return std::to_string(v); }
std::string str(double v) {
  std::string s = std::to_string(v);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

struct Paths {
  std::string out, world, dm, vlm, maps, eval;
  explicit Paths(const std::string& o)
      : out(o), world(o + "/world"), dm(o + "/dm"), vlm(o + "/vlm"), maps(o + "/dm-maps"),
        eval(o + "/eval") {}
  std::string split_data(const std::string& split) const { return world + "/" + split + ".jsonl"; }
  std::string truth(const std::string& split) const { return world + "/truth/" + split; }
};

// Options every VLM training run shares: from scratch nothing is frozen, and the small model
// checkpoints cheaply, so an interrupted demo resumes mid-run.
std::vector<std::string> train_args(const Paths& p, const DemoPreset& preset,
                                    const std::string& model, const std::string& data,
                                    const std::string& out, int64_t steps, double lr,
                                    uint64_t seed) {
  return {"train",         "--model",        model,
          "--data",        data,             "--images",
          p.world,         "--out",          out,
          "--max-steps",   str(steps),       "--batch-size",
          str(preset.batch), "--lr",         str(lr),
          "--warmup-steps", str(std::min<int64_t>(50, steps / 10)), "--freeze",
          "",              "--seed",         str(static_cast<int64_t>(seed)),
          "--save-every",  "200",            "--keep-checkpoints",
          "1",             "--figure-every", "0",
          "--resume"};
}

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

}  // namespace

DemoPreset demo_preset(const DemoOptions& o) {
  DemoPreset p;
  if (o.quick) {
    p.train_images = 800;
    p.test_images = 100;
    p.dm_steps = 80;
    p.pretrain_steps = 120;
    p.finetune_steps = 120;
    p.eval_limit = 100;
  }
  if (o.seeds > 0) p.seeds = o.seeds;
  return p;
}

const std::vector<Arm>& demo_arms() {
  static const std::vector<Arm> arms = {
      {"sft", "SFT (λ = 0)", "SFT"},
      {"lavender-dm", "Lavender, diffusion model's maps", "Lav. (DM)"},
      {"lavender-truth", "Lavender, ground-truth maps", "Lav. (truth)"}};
  return arms;
}

const std::vector<std::string>& demo_test_splits() {
  static const std::vector<std::string> splits = {"test-id", "test-ood-combo", "test-ood-crowded",
                                                  "test-ood-size"};
  return splits;
}

std::vector<Stage> demo_plan(const DemoOptions& o) {
  const DemoPreset preset = demo_preset(o);
  const Paths p(o.out);
  const std::string seed = str(static_cast<int64_t>(o.seed));
  std::vector<Stage> plan;
  int group = 0;

  plan.push_back({"synth", "the shapes world",
                  {"synth", "--out", p.world, "--seed", seed, "--train", str(int64_t{preset.train_images}),
                   "--test", str(int64_t{preset.test_images})},
                  {p.world + "/world.json"}});
  plan.back().folder = p.world;
  plan.push_back({"init-vlm", "a VLM with random weights",
                  {"init-vlm", "--out", p.vlm + "/init", "--seed", seed, "--corpus",
                   p.world + "/captions.jsonl," + p.split_data("train")},
                  {p.vlm + "/init/config.json"}});
  plan.back().after = {"synth"};
  plan.back().folder = p.vlm + "/init";

  ++group;  // the two from-scratch trainings are independent
  plan.push_back({"train-dm", "the diffusion model, from scratch on captions",
                  {"train-dm", "--data", p.world + "/captions.jsonl", "--images", p.world,
                   "--vocabulary-data", p.split_data("train"), "--out", p.dm, "--steps",
                   str(preset.dm_steps), "--seed", seed},
                  {p.dm + "/unet/config.json"},
                  group});
  plan.back().after = {"synth"};
  plan.back().folder = p.dm;
  plan.push_back({"pretrain-vlm", "the VLM, from scratch on captions",
                  with(train_args(p, preset, p.vlm + "/init", p.world + "/captions.jsonl",
                                  p.vlm + "/pretrain", preset.pretrain_steps, preset.pretrain_lr,
                                  o.seed),
                       {"--lambda", "0"}),
                  {p.vlm + "/pretrain/model/config.json"},
                  group});
  plan.back().after = {"synth", "init-vlm"};
  plan.back().folder = p.vlm + "/pretrain";

  // Extractions two at a time.
  std::vector<std::string> splits = {"train"};
  for (const auto& s : demo_test_splits()) splits.push_back(s);
  for (size_t i = 0; i < splits.size(); ++i) {
    const std::string& split = splits[i];
    if (i % 2 == 0) ++group;
    plan.push_back({"maps-" + split, "the diffusion model's maps for " + split,
                    {"sd-attn", "--model", p.dm, "--data", p.split_data(split), "--images", p.world,
                     "--out", p.maps + "/" + split, "--text", "all", "--recipe", "small-dm",
                     "--batch", "32", "--seed", seed},
                    {p.maps + "/" + split + "/store.json"},
                    group});
    plan.back().after = {"synth", "train-dm"};
    plan.back().folder = p.maps + "/" + split;
  }

  plan.push_back({"score-dm-maps", "the diffusion model's maps against the truth",
                  {"eval", "--maps", p.maps + "/test-id", "--truth", p.truth("test-id"),
                   "--word-classes", p.world + "/world.json", "--out", p.eval + "/dm-maps"},
                  {p.eval + "/dm-maps/results.json"}});
  plan.back().after = {"maps-test-id"};
  plan.back().folder = p.eval + "/dm-maps";

  ++group;
  std::vector<std::string> models = {"pretrain"};
  for (int s = 0; s < preset.seeds; ++s)
    for (const auto& arm : demo_arms()) {
      const std::string name = arm.name + "-s" + str(int64_t{s});
      const uint64_t arm_seed = o.seed + static_cast<uint64_t>(s);
      std::vector<std::string> args =
          train_args(p, preset, p.vlm + "/pretrain/model", p.split_data("train"),
                     p.vlm + "/" + name, preset.finetune_steps, preset.finetune_lr, arm_seed);
      if (arm.name == "sft") {
        args.insert(args.end(), {"--lambda", "0"});
      } else {
        args.insert(args.end(),
                    {"--lambda", str(preset.lambda), "--match-scope", "all", "--maps",
                     arm.name == "lavender-dm" ? p.maps + "/train" : p.truth("train")});
      }
      plan.push_back({"finetune-" + name, arm.title + ", seed " + str(int64_t{s}), args,
                      {p.vlm + "/" + name + "/model/config.json"}, group});
      plan.back().after = {"pretrain-vlm"};
      if (arm.name == "lavender-dm") plan.back().after.push_back("maps-train");
      plan.back().folder = p.vlm + "/" + name;
      models.push_back(name);
    }

  // Evaluations two at a time: each is small and mostly single-threaded.
  int in_group = 0;
  for (const auto& model : models)
    for (const auto& split : demo_test_splits()) {
      if (in_group++ % 2 == 0) ++group;
      std::vector<std::string> args = {
          "eval",    "--model", p.vlm + "/" + model + "/model", "--data", p.split_data(split),
          "--maps",  p.maps + "/" + split, "--truth", p.truth(split), "--word-classes",
          p.world + "/world.json", "--out", p.eval + "/" + model + "/" + split,
          "--save-maps", saved_vlm_maps(o.out, model, split), "--save-maps-limit", "4"};
      if (preset.eval_limit > 0) args.insert(args.end(), {"--limit", str(preset.eval_limit)});
      plan.push_back({"eval-" + model + "-" + split, model + " on " + split, args,
                      {p.eval + "/" + model + "/" + split + "/results.json"}, group});
      plan.back().after = {model == "pretrain" ? "pretrain-vlm" : "finetune-" + model,
                           "maps-" + split};
      plan.back().folder = p.eval + "/" + model + "/" + split;
    }
  return plan;
}

}  // namespace lavender::demo
