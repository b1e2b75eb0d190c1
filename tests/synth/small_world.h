// One small shapes world built once per test process and shared by the synth tests.
#pragma once

#include <string>

#include "lavender/synth/world.h"
#include "test_paths.h"

namespace lavender::test {

constexpr int kSmallTrain = 240;
constexpr int kSmallTest = 60;

inline synth::WorldOptions small_world_options(const std::string& out, uint64_t seed = 7) {
  synth::WorldOptions o;
  o.out = out;
  o.seed = seed;
  o.train = kSmallTrain;
  o.test = kSmallTest;
  o.progress = false;
  return o;
}

inline const std::string& small_world() {
  static TempDir dir;
  static const std::string path = [] {
    const std::string p = dir.file("world");
    synth::build_world(small_world_options(p));
    return p;
  }();
  return path;
}

}  // namespace lavender::test
