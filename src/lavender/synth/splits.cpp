#include "lavender/synth/splits.h"

#include <algorithm>
#include <cmath>

#include "lavender/util/error.h"

namespace lavender::synth {

const std::vector<SplitSpec>& all_splits() {
  static const std::vector<SplitSpec> splits = {
      {SplitKind::train, "train"},
      {SplitKind::test_id, "test-id"},
      {SplitKind::ood_combo, "test-ood-combo"},
      {SplitKind::ood_crowded, "test-ood-crowded"},
      {SplitKind::ood_size, "test-ood-size"},
  };
  return splits;
}

namespace {

// A colour–shape pair seen in training: uniform over the 30 allowed pairs, so each colour comes
// with each of its five allowed shapes equally often (and vice versa).
void allowed_pair(Rng& rng, int& colour, int& shape) {
  do {
    colour = static_cast<int>(rng.below(kColours));
    shape = static_cast<int>(rng.below(kShapes));
  } while (is_held_out(colour, shape));
}

Background draw_background(Rng& rng) {
  Background bg;
  bg.texture = static_cast<Texture>(rng.below(3));
  bg.grey = rng.range(95, 170);
  bg.amplitude = rng.range(5, 12);
  bg.period = rng.range(4, 10);
  bg.direction = rng.range(0, 2);
  bg.noise_seed = rng.next();
  return bg;
}

// Places `o` (radius set) where it keeps clear of the placed objects; false after many tries.
bool place(Object& o, const std::vector<Object>& placed, int n, Rng& rng) {
  const double lo = o.r + 1.0, hi = n - o.r - 1.0;
  if (hi <= lo) return false;
  for (int attempt = 0; attempt < 100; ++attempt) {
    o.cx = rng.uniform(lo, hi);
    o.cy = rng.uniform(lo, hi);
    bool clear = true;
    for (const auto& p : placed) {
      // Some overlap is allowed (outlines may touch or cross); the visible-share check after
      // drawing decides whether both stay recognisable.
      const double need = 0.8 * (o.r + p.r);
      if (std::hypot(o.cx - p.cx, o.cy - p.cy) < need) {
        clear = false;
        break;
      }
    }
    if (clear) return true;
  }
  return false;
}

void jitter_colour(Object& o, Rng& rng) {
  for (int c = 0; c < 3; ++c)
    o.rgb[c] = static_cast<uint8_t>(std::clamp(kColourTable[o.colour].rgb[c] + rng.range(-12, 12), 0, 255));
}

std::vector<Object> draw_objects(SplitKind kind, int index, int n, Rng& rng) {
  int count = 0;
  switch (kind) {
    case SplitKind::ood_crowded: count = rng.range(4, 6); break;
    default: count = rng.range(1, 3); break;
  }
  std::vector<Object> objects(count);
  for (int i = 0; i < count; ++i) {
    Object& o = objects[i];
    allowed_pair(rng, o.colour, o.shape);
    switch (kind) {
      case SplitKind::train:
      case SplitKind::test_id:
      case SplitKind::ood_combo:
        o.size = rng.chance(0.5) ? Size::large : Size::small;
        break;
      case SplitKind::ood_crowded:
        o.size = rng.chance(0.2) ? Size::large : Size::small;
        break;
      case SplitKind::ood_size:
        o.size = (i == 0 && rng.chance(0.5)) ? Size::huge : Size::tiny;
        break;
    }
  }
  if (kind == SplitKind::ood_combo) {
    // The held-out pair cycles with the image index, so all six are tested equally often.
    Object& o = objects[rng.below(static_cast<uint64_t>(count))];
    o.colour = index % kColours;
    o.shape = held_out_shape(o.colour);
  }
  if (kind == SplitKind::ood_crowded) {
    // Distractors: the second object shares the first one's colour, the third its shape.
    objects[1].colour = objects[0].colour;
    do objects[1].shape = static_cast<int>(rng.below(kShapes));
    while (objects[1].shape == objects[0].shape || is_held_out(objects[1].colour, objects[1].shape));
    objects[2].shape = objects[0].shape;
    do objects[2].colour = static_cast<int>(rng.below(kColours));
    while (objects[2].colour == objects[0].colour || is_held_out(objects[2].colour, objects[2].shape));
  }
  for (auto& o : objects) {
    o.r = size_fraction(o.size) * n * rng.uniform(0.95, 1.05);
    jitter_colour(o, rng);
  }
  return objects;
}

}  // namespace

DrawnScene draw_scene(SplitKind kind, int index, int image_size, Rng& rng) {
  if (image_size < 16) throw Error("synth: image size " + std::to_string(image_size) + " is too small (need >= 16)");
  for (int attempt = 0; attempt < 1000; ++attempt) {
    DrawnScene d;
    d.scene.size = image_size;
    d.scene.background = draw_background(rng);
    std::vector<Object> objects = draw_objects(kind, index, image_size, rng);
    bool ok = true;
    for (auto& o : objects) {
      if (!place(o, d.scene.objects, image_size, rng)) {
        ok = false;
        break;
      }
      d.scene.objects.push_back(o);
    }
    if (!ok) continue;
    d.rendered = render(d.scene);
    for (size_t i = 0; i < d.scene.objects.size() && ok; ++i)
      ok = visible_area(d.rendered.coverage[i]) >= kMinVisibleShare * d.rendered.full_area[i];
    if (ok) return d;
  }
  throw Error("synth: could not place the objects of a scene in a " + std::to_string(image_size) +
              "-pixel image");
}

}  // namespace lavender::synth
