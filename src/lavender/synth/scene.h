// The shapes world's scenes: what objects an image holds, how they are drawn, and the exact mask
// of each object's visible pixels. Torch-free (lives in lavender_core).
//
// Vocabulary and why:
//  - six shapes and six colours with well separated, nameable RGB values; each object's colour is
//    jittered a little per channel so that colour words name a region of colour space, not one
//    value, yet can never be confused with each other;
//  - held-out colour–shape pairs form a Latin square (colour i with shape (i + 2) mod 6): every
//    colour and every shape is held out exactly once, so each word is seen in training in five of
//    its six pairings and the test-ood-combo split asks about the sixth;
//  - sizes: small and large in training; tiny and huge only in test-ood-size;
//  - backgrounds are grey textures (noise, stripes, checker) of low contrast and no hue, so the
//    colour of a coloured pixel is always an object's.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "lavender/io/image.h"
#include "lavender/synth/rng.h"

namespace lavender::synth {

struct ColourName {
  const char* name;
  uint8_t rgb[3];
};

constexpr int kShapes = 6;
constexpr int kColours = 6;
extern const std::array<const char*, kShapes> kShapeNames;   // circle, square, ...
extern const std::array<const char*, kShapes> kShapePlurals;  // circles, squares, ...
extern const std::array<ColourName, kColours> kColourTable;   // red, orange, ...

enum class Size { small, large, tiny, huge };
const char* size_name(Size size);
// Radius as a fraction of the image side.
double size_fraction(Size size);

// The held-out (test-ood-combo) shape for a colour.
inline int held_out_shape(int colour) { return (colour + 2) % kShapes; }
inline bool is_held_out(int colour, int shape) { return held_out_shape(colour) == shape; }

struct Object {
  int shape = 0;
  int colour = 0;
  Size size = Size::small;
  double cx = 0, cy = 0, r = 0;  // centre and radius in pixels of the output image
  uint8_t rgb[3] = {0, 0, 0};     // the jittered colour actually drawn
};

enum class Texture { noise, stripes, checker };

struct Background {
  Texture texture = Texture::noise;
  int grey = 128;       // base level
  int amplitude = 8;    // half the contrast of the pattern
  int period = 6;       // stripes / checker period in pixels
  int direction = 0;    // stripes: 0 horizontal, 1 vertical, 2 diagonal
  uint64_t noise_seed = 0;
};

struct Scene {
  int size = 64;  // image side in pixels
  Background background;
  std::vector<Object> objects;  // in drawing order: later objects cover earlier ones
};

// Whether the point (u, v), in units of the object's radius around its centre (v pointing
// down), lies inside `shape`.
bool inside_shape(int shape, double u, double v);

struct Rendered {
  io::Image image;                          // RGB, size × size
  std::vector<std::vector<float>> coverage;  // per object: visible fraction of each pixel
  std::vector<double> full_area;             // per object: its area in pixels had nothing covered it
};

// Draws the scene with `supersample`² samples per pixel (anti-aliasing). Each sample shows the
// topmost object containing it or the background; an object's coverage of a pixel is the share
// of that pixel's samples it shows, so coverages of one pixel sum to at most 1 and a pixel with
// coverage 1 has exactly the object's colour.
Rendered render(const Scene& scene, int supersample = 4);

// Coverage summed over the whole image, in pixels.
double visible_area(const std::vector<float>& coverage);

// Area-weighted downsampling of a size × size map to out × out (each output cell the mean of the
// input area it covers), values stay in [0, 1].
std::vector<float> area_downsample(const std::vector<float>& map, int size, int out);

// Pixel bounding box of the visible part (coverage ≥ 0.5): x0, y0, x1, y1 inclusive; all -1 if empty.
std::array<int, 4> visible_bbox(const std::vector<float>& coverage, int size);

}  // namespace lavender::synth
