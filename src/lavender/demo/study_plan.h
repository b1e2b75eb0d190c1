// `lavender demo --study`: the paper's scaling experiment (its Figure 14, "Lavender scales better
// and overfits less") on the shapes world. The three arms (SFT, Lavender-DM, Lavender-GT) are
// fine-tuned from the same caption-pretrained VLM on training sets of 1/16, 1/4, 1 and 4 times
// the default question count, with the same number of optimiser steps each: the small sets are
// seen many times over (where over-fitting shows), the largest about once. Each run is scored on
// every test split (accuracy, grounding, and on test-id the answer loss) and on its first
// training questions (the answer loss on data it trained on): test loss above train loss is the
// over-fitting the paper says Lavender has less of.
//
// The sets are prefixes of one another: the first N questions of the world's train split (train
// --max-samples N), and for 4× a second world from the same seed with four times the training
// images (OUT/world-4x; the shapes world draws each image from its own random stream, so its
// first images are the demo world's), with the diffusion model's maps of its questions.
//
//   synth-4x, maps-train-4x                              OUT/world-4x, OUT/dm-maps/train-4x
//   study-<arm>-<size>-s<seed>       fine-tuning          OUT/vlm/study/<run>
//   eval-study-<run>-<split|train>   its scores           OUT/eval/study/<run>/<split|train>
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lavender/demo/demo_plan.h"
#include "lavender/demo/stage_runner.h"

namespace lavender::demo {

struct StudySize {
  std::string tag;    // in stage names: "1-16", "1-4", "1x", "4x"
  std::string label;  // for readers: "1/16", "1/4", "1", "4"
  std::string phrase;  // in stage titles: "1/16 of the questions", ...
  int numerator = 1, denominator = 1;
  double fraction() const { return static_cast<double>(numerator) / denominator; }
};
const std::vector<StudySize>& study_sizes();

struct StudyPreset {
  int64_t steps = 300;              // optimiser steps of every run, whatever its set size
  int seeds = 3;                    // fine-tuning seeds per arm and size
  int64_t eval_limit = 240;         // questions per test split
  int64_t train_eval_limit = 240;   // training questions whose answer loss is measured
};
StudyPreset study_preset(const DemoOptions& options);

// "study-sft-1-16-s0": the run's name (stages, folders, the report).
std::string study_run_name(const std::string& arm, const StudySize& size, int seed);
// The 4× world's folder.
std::string study_world(const std::string& out);
// The --max-samples of a size below 1 (0: the whole file).
int64_t study_max_samples(const DemoPreset& preset, const StudySize& size);

// The study's stages; they read the default plan's world, diffusion model and pretrained VLM
// (demo_plan appends them when DemoOptions::study is set).
std::vector<Stage> study_plan(const DemoOptions& options);

}  // namespace lavender::demo
