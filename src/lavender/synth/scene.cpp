#include "lavender/synth/scene.h"

#include <algorithm>
#include <cmath>

namespace lavender::synth {

const std::array<const char*, kShapes> kShapeNames = {"circle", "square", "triangle",
                                                      "star",   "ring",   "cross"};
const std::array<const char*, kShapes> kShapePlurals = {"circles", "squares", "triangles",
                                                        "stars",   "rings",   "crosses"};
// Far apart in hue and each what a person would call by its name; the jitter (±12 per channel,
// scene sampling) keeps every one of them clearly its own colour.
const std::array<ColourName, kColours> kColourTable = {{
    {"red", {210, 35, 35}},
    {"orange", {240, 135, 25}},
    {"yellow", {225, 210, 35}},
    {"green", {40, 160, 55}},
    {"blue", {40, 75, 215}},
    {"purple", {140, 55, 180}},
}};

const char* size_name(Size size) {
  switch (size) {
    case Size::small: return "small";
    case Size::large: return "large";
    case Size::tiny: return "tiny";
    case Size::huge: return "huge";
  }
  return "?";
}

double size_fraction(Size size) {
  switch (size) {
    case Size::small: return 0.11;
    case Size::large: return 0.18;
    case Size::tiny: return 0.065;
    case Size::huge: return 0.26;
  }
  return 0.1;
}

namespace {

struct Point {
  double x, y;
};

// Five-pointed star, point up: outer radius 1, inner 0.45.
std::array<Point, 10> star_polygon() {
  std::array<Point, 10> p{};
  const double pi = 3.14159265358979323846;
  for (int i = 0; i < 10; ++i) {
    const double radius = i % 2 == 0 ? 1.0 : 0.45;
    const double angle = -pi / 2 + i * pi / 5;
    p[i] = {radius * std::cos(angle), radius * std::sin(angle)};
  }
  return p;
}

bool inside_polygon(const Point* poly, int n, double x, double y) {
  bool in = false;
  for (int i = 0, j = n - 1; i < n; j = i++) {
    if ((poly[i].y > y) != (poly[j].y > y) &&
        x < (poly[j].x - poly[i].x) * (y - poly[i].y) / (poly[j].y - poly[i].y) + poly[i].x)
      in = !in;
  }
  return in;
}

uint64_t hash3(uint64_t seed, uint64_t x, uint64_t y) {
  uint64_t s = seed ^ (x * 0x9E3779B97F4A7C15ull) ^ (y * 0xC2B2AE3D27D4EB4Full);
  return splitmix64(s);
}

int background_level(const Background& bg, int x, int y) {
  int delta = 0;
  switch (bg.texture) {
    case Texture::noise: {
      const int span = 2 * bg.amplitude + 1;
      delta = static_cast<int>(hash3(bg.noise_seed, x, y) % static_cast<uint64_t>(span)) -
              bg.amplitude;
      break;
    }
    case Texture::stripes: {
      const int t = bg.direction == 0 ? y : bg.direction == 1 ? x : x + y;
      delta = (t / std::max(1, bg.period / 2)) % 2 == 0 ? bg.amplitude : -bg.amplitude;
      break;
    }
    case Texture::checker: {
      const int cell = std::max(1, bg.period / 2);
      delta = ((x / cell) + (y / cell)) % 2 == 0 ? bg.amplitude : -bg.amplitude;
      break;
    }
  }
  return std::clamp(bg.grey + delta, 0, 255);
}

}  // namespace

bool inside_shape(int shape, double u, double v) {
  switch (shape) {
    case 0:  // circle
      return u * u + v * v <= 1.0;
    case 1:  // square, a little inside the circle so the two have similar areas
      return std::fabs(u) <= 0.85 && std::fabs(v) <= 0.85;
    case 2: {  // triangle, point up, centroid at the centre
      static const Point tri[3] = {{0.0, -1.0}, {0.866, 0.5}, {-0.866, 0.5}};
      return inside_polygon(tri, 3, u, v);
    }
    case 3: {  // star
      static const std::array<Point, 10> star = star_polygon();
      return inside_polygon(star.data(), 10, u, v);
    }
    case 4: {  // ring
      const double d = u * u + v * v;
      return d <= 1.0 && d >= 0.55 * 0.55;
    }
    case 5:  // cross (a plus sign)
      return (std::fabs(u) <= 0.32 && std::fabs(v) <= 0.95) ||
             (std::fabs(v) <= 0.32 && std::fabs(u) <= 0.95);
  }
  return false;
}

Rendered render(const Scene& scene, int supersample) {
  const int n = scene.size;
  const int ss = std::max(1, supersample);
  const size_t pixels = static_cast<size_t>(n) * n;
  Rendered out;
  out.image.width = out.image.height = n;
  out.image.channels = 3;
  out.image.pixels.assign(pixels * 3, 0);
  out.coverage.assign(scene.objects.size(), std::vector<float>(pixels, 0.0f));
  const int k = static_cast<int>(scene.objects.size());
  out.full_area.assign(scene.objects.size(), 0.0);
  std::vector<int> hits(k), whole(k, 0);
  const double step = 1.0 / ss;
  for (int y = 0; y < n; ++y) {
    for (int x = 0; x < n; ++x) {
      std::fill(hits.begin(), hits.end(), 0);
      int background = ss * ss;
      // Only objects whose bounding square touches this pixel need the per-sample tests.
      bool near = false;
      for (const Object& ob : scene.objects)
        near = near || (x + 1 > ob.cx - ob.r && x < ob.cx + ob.r && y + 1 > ob.cy - ob.r &&
                        y < ob.cy + ob.r);
      for (int sy = 0; near && sy < ss; ++sy) {
        const double py = y + (sy + 0.5) * step;
        for (int sx = 0; sx < ss; ++sx) {
          const double px = x + (sx + 0.5) * step;
          bool claimed = false;
          for (int o = k - 1; o >= 0; --o) {  // topmost first
            const Object& ob = scene.objects[o];
            const double u = (px - ob.cx) / ob.r, v = (py - ob.cy) / ob.r;
            if (std::fabs(u) > 1.0 || std::fabs(v) > 1.0) continue;
            if (inside_shape(ob.shape, u, v)) {
              ++whole[o];
              if (!claimed) {
                ++hits[o];
                --background;
                claimed = true;
              }
            }
          }
        }
      }
      const int bg = background_level(scene.background, x, y);
      const int total = ss * ss;
      const size_t p = static_cast<size_t>(y) * n + x;
      for (int c = 0; c < 3; ++c) {
        int sum = background * bg;
        for (int o = 0; o < k; ++o) sum += hits[o] * scene.objects[o].rgb[c];
        out.image.pixels[p * 3 + c] = static_cast<uint8_t>((sum + total / 2) / total);
      }
      for (int o = 0; o < k; ++o)
        out.coverage[o][p] = static_cast<float>(hits[o]) / static_cast<float>(total);
    }
  }
  for (int o = 0; o < k; ++o) out.full_area[o] = static_cast<double>(whole[o]) / (ss * ss);
  return out;
}

double visible_area(const std::vector<float>& coverage) {
  double s = 0;
  for (float c : coverage) s += c;
  return s;
}

std::vector<float> area_downsample(const std::vector<float>& map, int size, int out) {
  std::vector<float> result(static_cast<size_t>(out) * out, 0.0f);
  const double scale = static_cast<double>(size) / out;  // input pixels per output cell
  // Per axis: the input pixels each output cell overlaps, with the overlap length.
  std::vector<std::vector<std::pair<int, double>>> spans(out);
  for (int o = 0; o < out; ++o) {
    const double a = o * scale, b = (o + 1) * scale;
    for (int i = static_cast<int>(std::floor(a)); i < size && i < b; ++i) {
      const double overlap = std::min(b, i + 1.0) - std::max(a, static_cast<double>(i));
      if (overlap > 0) spans[o].emplace_back(i, overlap);
    }
  }
  const double norm = 1.0 / (scale * scale);
  for (int oy = 0; oy < out; ++oy)
    for (int ox = 0; ox < out; ++ox) {
      double s = 0;
      for (const auto& [iy, wy] : spans[oy])
        for (const auto& [ix, wx] : spans[ox]) s += wy * wx * map[static_cast<size_t>(iy) * size + ix];
      result[static_cast<size_t>(oy) * out + ox] = static_cast<float>(std::clamp(s * norm, 0.0, 1.0));
    }
  return result;
}

std::array<int, 4> visible_bbox(const std::vector<float>& coverage, int size) {
  std::array<int, 4> box = {-1, -1, -1, -1};
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      if (coverage[static_cast<size_t>(y) * size + x] < 0.5f) continue;
      if (box[0] < 0) box = {x, y, x, y};
      box[0] = std::min(box[0], x);
      box[1] = std::min(box[1], y);
      box[2] = std::max(box[2], x);
      box[3] = std::max(box[3], y);
    }
  return box;
}

}  // namespace lavender::synth
