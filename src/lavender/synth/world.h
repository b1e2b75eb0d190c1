// Builds a whole shapes world on disk (layout: /work/shared world.md, summarised here):
//   WORLD/world.json                 settings, vocabulary, held-out pairs, counts, design notes
//   WORLD/images/<split>/<nnnnnn>.png
//   WORLD/<split>.jsonl              LLaVA conversation records, one QA each (+ type, answer, choices)
//   WORLD/captions.jsonl             one caption record per train image
//   WORLD/scenes/<split>.jsonl       objects of each image (shape, colour, size, cx, cy, r, bbox)
//   WORLD/truth/<split>/             map store of ground-truth per-word masks (map_size 32)
// world.json is written last: its presence means the world is complete. Building again with the
// same settings is a no-op; with other settings an error (the caller chooses another folder).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace lavender::synth {

struct WorldOptions {
  std::string out;
  uint64_t seed = 0;
  int train = 4000;      // train images
  int test = 300;        // images per test split
  int size = 64;         // image side
  int qa_per_image = 3;  // questions per image (distinct types)
  int map_size = 32;     // truth map side
  bool progress = true;  // progress lines on stderr
};

struct WorldResult {
  bool already_built = false;
  nlohmann::json world;  // the contents of world.json
};

WorldResult build_world(const WorldOptions& options);

}  // namespace lavender::synth
