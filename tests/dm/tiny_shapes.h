// A tiny shapes corpus for the diffusion-model tests: 64×64 images on a grey background with
// two objects (a filled square or disc in one of four colours, never the same colour twice),
// a caption naming both ("a red square left of a blue circle"), and each object's mask at 32×32
// so a word's map can be scored against its referent.
#pragma once

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "lavender/io/image.h"

namespace lavender::test {

struct ShapesSample {
  std::string image;  // path relative to the corpus folder
  std::string caption;
  std::vector<std::string> colours;  // per object
  std::vector<at::Tensor> masks;     // per object, [32, 32] in {0, 1}
};

inline std::vector<ShapesSample> write_tiny_shapes(const std::string& dir, int count,
                                                   unsigned seed) {
  static const char* kColourNames[] = {"red", "green", "blue", "yellow"};
  static const uint8_t kColours[][3] = {{220, 40, 40}, {40, 200, 60}, {50, 70, 230}, {230, 210, 40}};
  static const char* kShapes[] = {"square", "circle"};
  std::mt19937 rng(seed);
  std::filesystem::create_directories(dir + "/images");
  std::ofstream jsonl(dir + "/captions.jsonl");
  std::vector<ShapesSample> out;
  for (int i = 0; i < count; ++i) {
    io::Image img;
    img.width = img.height = 64;
    img.channels = 3;
    img.pixels.assign(64 * 64 * 3, 128);
    ShapesSample s;
    const int c0 = static_cast<int>(rng() % 4);
    const int c1 = (c0 + 1 + static_cast<int>(rng() % 3)) % 4;
    // One object in the left half, one in the right, so they never overlap.
    std::vector<std::string> phrases;
    for (int k = 0; k < 2; ++k) {
      const int colour = k == 0 ? c0 : c1, shape = static_cast<int>(rng() % 2);
      const int r = 7 + static_cast<int>(rng() % 5);
      const int cx = (k == 0 ? 16 : 48) + static_cast<int>(rng() % 7) - 3;
      const int cy = 14 + r / 2 + static_cast<int>(rng() % static_cast<unsigned>(36 - r));
      at::Tensor mask = at::zeros({32, 32});
      for (int y = 0; y < 64; ++y)
        for (int x = 0; x < 64; ++x) {
          const int dx = x - cx, dy = y - cy;
          const bool in = shape == 0 ? (std::abs(dx) <= r && std::abs(dy) <= r)
                                     : dx * dx + dy * dy <= r * r;
          if (!in) continue;
          for (int ch = 0; ch < 3; ++ch) img.pixels[(y * 64 + x) * 3 + ch] = kColours[colour][ch];
          mask[y / 2][x / 2] = 1;
        }
      s.colours.push_back(kColourNames[colour]);
      s.masks.push_back(mask);
      phrases.push_back(std::string("a ") + kColourNames[colour] + " " + kShapes[shape]);
    }
    s.caption = phrases[0] + " left of " + phrases[1];
    s.image = "images/" + std::to_string(i) + ".png";
    io::write_png(dir + "/" + s.image, img);
    nlohmann::json rec = {{"id", "img" + std::to_string(i)},
                          {"image", s.image},
                          {"conversations",
                           {{{"from", "human"}, {"value", "<image>\nDescribe the image."}},
                            {{"from", "gpt"}, {"value", s.caption}}}}};
    jsonl << rec.dump() << "\n";
    out.push_back(std::move(s));
  }
  return out;
}

// IoU of a [0, 1] map thresholded at 0.5 with a {0, 1} mask.
inline double map_iou(const at::Tensor& map, const at::Tensor& mask) {
  at::Tensor a = map.gt(0.5), b = mask.gt(0.5);
  const double inter = (a & b).sum().item<double>(), uni = (a | b).sum().item<double>();
  return uni > 0 ? inter / uni : 0.0;
}

}  // namespace lavender::test
