#include <chrono>
#include <cstdio>

#include "commands.h"
#include "lavender/synth/world.h"
#include "lavender/util/args.h"
#include "lavender/util/error.h"

namespace lavender::cli {

int run_synth(const Args& args) {
  ArgParser parser("synth",
                   "Builds the shapes world: images of coloured shapes with captions, questions "
                   "(colour, shape, presence, count, position), exact per-object masks and "
                   "ground-truth per-word maps, in a train split and four test splits (one in "
                   "distribution, three out of it). Deterministic from --seed.");
  parser.option("out", "folder to write the world into")
      .option("seed", "random seed", "0")
      .option("train", "train images (default 4000; --quick 800)")
      .option("test", "images per test split (default 300; --quick 100)")
      .option("size", "image side in pixels", "64")
      .option("questions", "questions per image (of distinct types)", "3")
      .flag("quick", "a small world for tests and the quick demo");
  if (!parser.parse(args)) {
    std::printf("%s", parser.help().c_str());
    return 0;
  }
  if (!parser.has("out")) throw Error("synth: --out is required");
  synth::WorldOptions o;
  o.out = parser.get("out");
  const int64_t seed = parser.get_int("seed");
  if (seed < 0) throw Error("synth: --seed must be >= 0");
  o.seed = static_cast<uint64_t>(seed);
  const bool quick = parser.has("quick");
  o.train = static_cast<int>(parser.has("train") ? parser.get_int("train") : quick ? 800 : 4000);
  o.test = static_cast<int>(parser.has("test") ? parser.get_int("test") : quick ? 100 : 300);
  o.size = static_cast<int>(parser.get_int("size"));
  o.qa_per_image = static_cast<int>(parser.get_int("questions"));
  if (o.size < 16 || o.size > 1024) throw Error("synth: --size must be between 16 and 1024");
  const auto start = std::chrono::steady_clock::now();
  synth::WorldResult r = synth::build_world(o);
  if (r.already_built) {
    std::printf("synth: %s already built with these settings\n", o.out.c_str());
    return 0;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("synth: wrote %s in %.1f s\n", o.out.c_str(), seconds);
  for (const char* split :
       {"train", "test-id", "test-ood-combo", "test-ood-crowded", "test-ood-size"}) {
    const auto& info = r.world["splits"][split];
    std::printf("  %-17s %5d images %6d questions\n", split, info["images"].get<int>(),
                info["records"].get<int>());
  }
  return 0;
}

}  // namespace lavender::cli
