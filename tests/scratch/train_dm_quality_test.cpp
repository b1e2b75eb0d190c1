// A measurement, not a unit test (disabled; run with --gtest_also_run_disabled_tests and
// --gtest_filter='*DmQuality*'): trains the default small DM on a local shapes corpus and
// scores its per-word maps against the objects' masks (IoU after thresholding at 0.5).
// LAVENDER_DM_STEPS (default 600), LAVENDER_DM_IMAGES (512), LAVENDER_DM_BATCH (32),
// LAVENDER_DM_C0/C1/C2 (channels per level, default the spec's) and LAVENDER_DM_HEADS size the run;
// LAVENDER_DM_KEEP=DIR keeps a copy of the trained model folder there for further study.
// Besides the right object's IoU it prints the colour word's IoU with the *other* object (are
// the maps word-specific or object-generic?) and an all-ones map's IoU (the object's area).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "dm/tiny_shapes.h"
#include "lavender/dm/extract.h"
#include "lavender/scratch/train_dm.h"
#include "lavender/io/image.h"
#include "test_paths.h"

namespace lavender::scratch {
namespace {

using namespace dm;  // the trained folder is read back through the teacher's code

int64_t env_int(const char* name, int64_t def) {
  const char* v = std::getenv(name);
  return v ? std::atoll(v) : def;
}

// Disabled because it trains a model for minutes of CPU (too long for the unit suite); it prints
// rather than asserts, being the measurement to rerun when the small DM's design changes (the
// demo's score-dm-maps stage reports the same quality on the full world).
TEST(DmQuality, DISABLED_ColourWordsLandOnTheirObjects) {
  test::TempDir dir;
  auto samples = test::write_tiny_shapes(
      dir.file("shapes"), static_cast<int>(env_int("LAVENDER_DM_IMAGES", 512)), 7);
  TrainDmOptions o;
  o.data = dir.file("shapes/captions.jsonl");
  o.out = dir.file("dm");
  o.steps = env_int("LAVENDER_DM_STEPS", 600);
  o.batch = env_int("LAVENDER_DM_BATCH", o.batch);
  o.spec.channels = {env_int("LAVENDER_DM_C0", o.spec.channels[0]),
                     env_int("LAVENDER_DM_C1", o.spec.channels[1]),
                     env_int("LAVENDER_DM_C2", o.spec.channels[2])};
  o.spec.heads = env_int("LAVENDER_DM_HEADS", o.spec.heads);
  o.show_progress = false;
  auto r = train_dm(o);
  std::printf(
      "trained: %lld steps, %.2f steps/s (%.1f s), loss %.4f -> %.4f, UNet %lld + text %lld "
      "params\n",
      static_cast<long long>(r.steps), r.steps_per_second, r.seconds, r.first_loss,
      r.last_loss, static_cast<long long>(r.unet_parameters),
      static_cast<long long>(r.text_parameters));

  if (const char* keep = std::getenv("LAVENDER_DM_KEEP"))
    std::filesystem::copy(o.out, keep, std::filesystem::copy_options::recursive);
  SdPipeline p = load_sd_pipeline(o.out);
  for (std::vector<int64_t> ts : {std::vector<int64_t>{50}, {50, 100}, {150}, {300}})
    for (std::vector<LayerSelection> layers :
         {std::vector<LayerSelection>{{2, 1.0}}, {{4, 1.0}}, {{2, 0.5}, {4, 0.5}}}) {
      Recipe recipe = recipe_preset("small-dm");
      recipe.timesteps = ts;
      recipe.layers = layers;
      double colour_iou = 0, shape_iou = 0, other_iou = 0, ones_iou = 0;
      int colour_n = 0, shape_n = 0;
      const size_t n_eval = std::min<size_t>(64, samples.size());
      for (size_t i = 0; i < n_eval; i += 8) {
        std::vector<at::Tensor> images;
        std::vector<std::string> texts;
        for (size_t k = i; k < std::min(i + 8, n_eval); ++k) {
          images.push_back(
              prepare_image(io::read_image(dir.file("shapes/" + samples[k].image)), 32).pixels);
          texts.push_back(samples[k].caption);
        }
        auto maps = extract(p, torch::stack(images), texts, recipe, 0);
        for (size_t k = 0; k < maps.size(); ++k) {
          const auto& s = samples[i + k];
          // Caption: "a C1 S1 left of a C2 S2": words 1, 2 and 6, 7 name objects 0 and 1.
          const auto& m = maps[k];
          for (int obj = 0; obj < 2; ++obj) {
            const size_t cw = obj == 0 ? 1 : 6;
            if (m.words.size() < 8) continue;
            colour_iou += test::map_iou(m.maps[static_cast<int64_t>(cw)], s.masks[obj]);
            shape_iou += test::map_iou(m.maps[static_cast<int64_t>(cw + 1)], s.masks[obj]);
            other_iou += test::map_iou(m.maps[static_cast<int64_t>(cw)], s.masks[1 - obj]);
            ones_iou += test::map_iou(torch::ones({32, 32}), s.masks[obj]);
            ++colour_n;
            ++shape_n;
          }
        }
      }
      std::string lname;
      for (const auto& l : layers) lname += std::to_string(l.factor) + " ";
      std::string tname;
      for (auto t : ts) tname += std::to_string(t) + " ";
      std::printf(
          "t = %-8s factors %-5s colour IoU %.3f  shape IoU %.3f  colour vs other object %.3f  "
          "all-ones %.3f  (%d objects)\n",
          tname.c_str(), lname.c_str(), colour_iou / colour_n, shape_iou / shape_n,
          other_iou / colour_n, ones_iou / colour_n, colour_n);
    }
}

}  // namespace
}  // namespace lavender::scratch
