// What the demo's plans (demo_plan.cpp, study_plan.cpp) are built from: the output folder's
// layout, the options every VLM training run shares, and the stage constructor.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lavender/demo/demo_plan.h"
#include "lavender/demo/stage_runner.h"

namespace lavender::demo {

struct PlanPaths {
  std::string out, world, dm, vlm, maps, eval;
  explicit PlanPaths(const std::string& o)
      : out(o), world(o + "/world"), dm(o + "/dm"), vlm(o + "/vlm"), maps(o + "/dm-maps"),
        eval(o + "/eval") {}
  std::string split_data(const std::string& split) const { return world + "/" + split + ".jsonl"; }
  std::string truth(const std::string& split) const { return world + "/truth/" + split; }
};

// A number as a command-line argument ("600", "0.001").
std::string arg_number(int64_t v);
std::string arg_number(double v);

// `lavender train` of a VLM from scratch or from the caption-pretrained model: nothing frozen,
// a cheap checkpoint every 200 steps so an interrupted demo resumes mid-run.
std::vector<std::string> vlm_train_args(const DemoPreset& preset,
                                        const std::string& model, const std::string& data,
                                        const std::string& images, const std::string& out,
                                        int64_t steps, double lr,
                                        uint64_t seed);

// The Lavender options of the demo's fine-tuning arms, reading the teacher `maps` (the
// diffusion model's store or the ground truth).
std::vector<std::string> lavender_arm_args(const DemoPreset& preset, const std::string& maps);

std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more);

Stage make_stage(std::string name, std::string title, std::vector<std::string> args,
                 std::vector<std::string> outputs, std::string folder,
                 std::vector<std::string> after);

}  // namespace lavender::demo
