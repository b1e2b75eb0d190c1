// What `lavender demo` does, as a list of stages (demo/stage_runner.h), each a lavender command:
//
//   synth          the shapes world (images, QA, captions, ground-truth masks)       OUT/world
//   init-vlm       a LLaVA-architecture VLM with random weights                       OUT/vlm/init
//   train-dm ║ pretrain-vlm   the diffusion model on captions, side by side with the VLM's caption
//                  pretraining (both from scratch)                                    OUT/dm, OUT/vlm/pretrain
//   maps-<split>   the diffusion model's per-word maps of every record (the teacher)  OUT/dm-maps/<split>
//   score-dm-maps  the teacher's maps against the ground truth                        OUT/eval/dm-maps
//   finetune-<arm>-s<seed>  QA fine-tuning with one budget, three ways: plain SFT (λ = 0), Lavender
//                  with the diffusion model's maps, Lavender with ground-truth maps   OUT/vlm/<arm>-s<seed>
//   eval-<model>-<split>    accuracy and attention of each VLM on each test split     OUT/eval/...
//   study-...      with --study: the same arms over four fine-tuning set sizes (demo/study_plan.h)
//
// The presets size the work for this project's reference machine (2 cores): the default finishes
// within about 10 minutes, --quick within about 2 (for CI). Every number is a lavender option a
// user can also pass by hand.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lavender/demo/stage_runner.h"

namespace lavender::demo {

struct DemoOptions {
  std::string out = "demo-out";
  bool quick = false;
  uint64_t seed = 0;
  int seeds = 0;  // fine-tuning seeds per arm (0: the preset's)
  bool study = false;  // also the scaling study over fine-tuning set sizes (demo/study_plan.h)
};

// The sizes a preset uses; exposed so the report can state them.
struct DemoPreset {
  int train_images = 3000, test_images = 300;
  int questions_per_image = 3;  // synth's default, which the demo keeps
  int64_t dm_steps = 500;
  int64_t pretrain_steps = 600, finetune_steps = 600, batch = 32;
  double pretrain_lr = 2e-3, finetune_lr = 1e-3;
  double lambda = 10;
  int seeds = 1;
  int64_t eval_limit = 240;  // questions per test split (0: all)
};
DemoPreset demo_preset(const DemoOptions& options);

// The fine-tuning arms, in report order.
struct Arm {
  std::string name;   // "sft", "lavender-dm", "lavender-truth"
  std::string title;  // "SFT (λ = 0)", ...
  std::string short_title;  // column headers and findings: "SFT", "Lavender-DM", ...
};
const std::vector<Arm>& demo_arms();

// The test splits of the shapes world, in report order.
const std::vector<std::string>& demo_test_splits();

std::vector<Stage> demo_plan(const DemoOptions& options);

}  // namespace lavender::demo
