// Drawing: masks are exact (full-coverage pixels have the object's colour), disjoint, and every
// split draws the objects it promises.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "lavender/synth/splits.h"

namespace lavender::synth {
namespace {

TEST(SynthRng, SameSeedSameStreamOtherwiseDifferent) {
  Rng a = Rng::stream(5, 1, 2), b = Rng::stream(5, 1, 2), c = Rng::stream(5, 1, 3),
      d = Rng::stream(6, 1, 2);
  bool differ_c = false, differ_d = false;
  for (int i = 0; i < 16; ++i) {
    const uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    differ_c = differ_c || x != c.next();
    differ_d = differ_d || x != d.next();
  }
  EXPECT_TRUE(differ_c);
  EXPECT_TRUE(differ_d);
  Rng r(1);
  std::set<int> seen;
  for (int i = 0; i < 1000; ++i) {
    const int v = r.range(3, 7);
    ASSERT_GE(v, 3);
    ASSERT_LE(v, 7);
    seen.insert(v);
    const double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
  }
  EXPECT_EQ(seen.size(), 5u);
}

TEST(SynthScene, ShapesAreDistinctAndCentred) {
  // Each shape covers a sensible share of its bounding square and no two shapes agree on
  // every sample point.
  std::vector<std::vector<bool>> masks(kShapes);
  for (int s = 0; s < kShapes; ++s) {
    int in = 0;
    for (int y = 0; y < 40; ++y)
      for (int x = 0; x < 40; ++x) {
        const bool v = inside_shape(s, (x + 0.5) / 20 - 1, (y + 0.5) / 20 - 1);
        masks[s].push_back(v);
        in += v;
      }
    EXPECT_GT(in, 1600 * 0.2) << kShapeNames[s];
    EXPECT_LT(in, 1600 * 0.85) << kShapeNames[s];
  }
  for (int a = 0; a < kShapes; ++a)
    for (int b = a + 1; b < kShapes; ++b) EXPECT_NE(masks[a], masks[b]);
}

TEST(SynthScene, MasksAreExactAndDisjoint) {
  for (const auto& split : all_splits()) {
    for (int i = 0; i < 40; ++i) {
      Rng rng = Rng::stream(3, static_cast<uint64_t>(split.kind), i);
      DrawnScene d = draw_scene(split.kind, i, 64, rng);
      const auto& objects = d.scene.objects;
      const int n = static_cast<int>(objects.size());
      if (split.kind == SplitKind::ood_crowded) {
        EXPECT_GE(n, 4);
        EXPECT_LE(n, 6);
      } else {
        EXPECT_GE(n, 1);
        EXPECT_LE(n, 3);
      }
      for (size_t p = 0; p < 64 * 64; ++p) {
        float total = 0;
        for (int o = 0; o < n; ++o) {
          const float c = d.rendered.coverage[o][p];
          total += c;
          if (c == 1.0f) {
            for (int ch = 0; ch < 3; ++ch)
              ASSERT_EQ(d.rendered.image.pixels[p * 3 + ch], objects[o].rgb[ch]) << split.name;
          }
        }
        ASSERT_LE(total, 1.0f + 1e-6f);
      }
      for (int o = 0; o < n; ++o) {
        EXPECT_GE(visible_area(d.rendered.coverage[o]), kMinVisibleShare * d.rendered.full_area[o]);
        const Object& ob = objects[o];
        if (split.kind != SplitKind::ood_combo) {
          EXPECT_FALSE(is_held_out(ob.colour, ob.shape));
        }
        const bool ood_size = ob.size == Size::tiny || ob.size == Size::huge;
        EXPECT_EQ(ood_size, split.kind == SplitKind::ood_size);
        // The drawn colour is the named colour, jittered a little.
        for (int ch = 0; ch < 3; ++ch)
          EXPECT_LE(std::abs(ob.rgb[ch] - kColourTable[ob.colour].rgb[ch]), 12);
      }
      if (split.kind == SplitKind::ood_combo) {
        const auto held = std::count_if(objects.begin(), objects.end(), [](const Object& x) {
          return is_held_out(x.colour, x.shape);
        });
        EXPECT_EQ(held, 1);
      }
    }
  }
}

TEST(SynthScene, BackgroundHasNoHue) {
  // No object: every pixel is grey, so a coloured pixel always belongs to an object.
  Rng rng(9);
  for (int i = 0; i < 20; ++i) {
    DrawnScene d = draw_scene(SplitKind::train, i, 32, rng);
    d.scene.objects.clear();
    Rendered r = render(d.scene);
    for (size_t p = 0; p < r.image.pixels.size(); p += 3) {
      ASSERT_EQ(r.image.pixels[p], r.image.pixels[p + 1]);
      ASSERT_EQ(r.image.pixels[p], r.image.pixels[p + 2]);
    }
  }
}

TEST(SynthScene, AreaDownsampleKeepsMass) {
  std::vector<float> map(64 * 64, 0.0f);
  for (int y = 10; y < 20; ++y)
    for (int x = 5; x < 30; ++x) map[y * 64 + x] = 1.0f;
  auto half = area_downsample(map, 64, 32);
  double sum = 0;
  for (float v : half) sum += v;
  EXPECT_NEAR(sum * 4, 250.0, 1e-3);
  auto odd = area_downsample(map, 64, 24);
  sum = 0;
  for (float v : odd) {
    EXPECT_LE(v, 1.0f);
    sum += v;
  }
  EXPECT_NEAR(sum * (64.0 / 24) * (64.0 / 24), 250.0, 1e-2);
}

}  // namespace
}  // namespace lavender::synth
