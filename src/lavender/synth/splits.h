// The shapes world's splits and how each draws its scenes (world.md):
//   train, test-id      1–3 objects, small or large, never a held-out colour–shape pair
//   test-ood-combo      1–3 objects, one of them a held-out pair (its questions ask about it)
//   test-ood-crowded    4–6 mostly small objects, with distractors sharing the colour or the
//                       shape of another object (so a word alone does not pick out an object)
//   test-ood-size       1–3 objects of sizes never seen in training: tiny, and at most one huge
#pragma once

#include <string>
#include <vector>

#include "lavender/synth/scene.h"

namespace lavender::synth {

enum class SplitKind { train, test_id, ood_combo, ood_crowded, ood_size };

struct SplitSpec {
  SplitKind kind;
  const char* name;
};
// All five, in the order they are built.
const std::vector<SplitSpec>& all_splits();

// Least share of an object's own area that must stay visible after occlusion; scenes where an
// object falls below it are drawn again, so every object can be seen and named.
constexpr double kMinVisibleShare = 0.7;

struct DrawnScene {
  Scene scene;
  Rendered rendered;
};

// One scene of `kind` for image `index` of its split (index also rotates the held-out pair of
// test-ood-combo through all six). Deterministic in (rng state, kind, index, size).
DrawnScene draw_scene(SplitKind kind, int index, int image_size, Rng& rng);

}  // namespace lavender::synth
