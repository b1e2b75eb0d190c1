#include "lavender/eval/canvas.h"

#include <algorithm>
#include <cmath>

#include "lavender/eval/font5x7.h"
#include "lavender/util/error.h"

namespace lavender::eval {
namespace {

void put(io::Image& canvas, int x, int y, Rgb colour) {
  if (x < 0 || y < 0 || x >= canvas.width || y >= canvas.height) return;
  uint8_t* p = canvas.row(y) + static_cast<size_t>(x) * 3;
  p[0] = colour[0], p[1] = colour[1], p[2] = colour[2];
}

// Bilinear sample at continuous map coordinates (pixel centres at integer + 0.5).
float sample(const std::vector<float>& map, int h, int w, float fy, float fx) {
  fy = std::clamp(fy - 0.5f, 0.0f, static_cast<float>(h - 1));
  fx = std::clamp(fx - 0.5f, 0.0f, static_cast<float>(w - 1));
  const int y0 = static_cast<int>(fy), x0 = static_cast<int>(fx);
  const int y1 = std::min(y0 + 1, h - 1), x1 = std::min(x0 + 1, w - 1);
  const float ty = fy - static_cast<float>(y0), tx = fx - static_cast<float>(x0);
  auto at = [&](int yy, int xx) { return map[static_cast<size_t>(yy) * w + xx]; };
  const float top = at(y0, x0) * (1 - tx) + at(y0, x1) * tx;
  const float bottom = at(y1, x0) * (1 - tx) + at(y1, x1) * tx;
  return top * (1 - ty) + bottom * ty;
}

}  // namespace

io::Image blank_image(int width, int height, Rgb colour) {
  io::Image image;
  image.width = width, image.height = height, image.channels = 3;
  image.pixels.resize(static_cast<size_t>(width) * height * 3);
  fill_rect(image, 0, 0, width, height, colour);
  return image;
}

void fill_rect(io::Image& canvas, int x, int y, int width, int height, Rgb colour) {
  for (int yy = std::max(y, 0); yy < std::min(y + height, canvas.height); ++yy)
    for (int xx = std::max(x, 0); xx < std::min(x + width, canvas.width); ++xx)
      put(canvas, xx, yy, colour);
}

void paste(io::Image& canvas, const io::Image& image, int x, int y) {
  if (image.channels != 3) throw Error("paste: need an RGB image");
  for (int yy = 0; yy < image.height; ++yy)
    for (int xx = 0; xx < image.width; ++xx) {
      const uint8_t* p = image.row(yy) + static_cast<size_t>(xx) * 3;
      put(canvas, x + xx, y + yy, {p[0], p[1], p[2]});
    }
}

int text_width(const std::string& text, int scale) {
  if (text.empty()) return 0;
  return static_cast<int>(text.size()) * (kGlyphWidth + 1) * scale - scale;
}

int draw_text(io::Image& canvas, int x, int y, const std::string& text, Rgb colour, int scale) {
  int pen = x;
  for (char c : text) {
    const Glyph& g = glyph(c);
    for (int row = 0; row < kGlyphHeight; ++row)
      for (int col = 0; col < kGlyphWidth; ++col)
        if (g[static_cast<size_t>(row)] & (1u << (kGlyphWidth - 1 - col)))
          fill_rect(canvas, pen + col * scale, y + row * scale, scale, scale, colour);
    pen += (kGlyphWidth + 1) * scale;
  }
  return text_width(text, scale);
}

std::string fit_text(const std::string& text, int width, int scale) {
  if (text_width(text, scale) <= width) return text;
  std::string cut = text;
  while (!cut.empty() && text_width(cut + "..", scale) > width) cut.pop_back();
  return cut.empty() ? "" : cut + "..";
}

std::vector<std::string> wrap_text(const std::string& text, int width, int scale) {
  if (!text.empty() && text_width(text, scale) <= width) return {text};  // as given, spaces too
  std::vector<std::string> lines;
  std::string line, word;
  auto flush_word = [&] {
    if (word.empty()) return;
    if (!line.empty() && text_width(line + " " + word, scale) > width) {
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    word.clear();
  };
  for (char c : text) {
    if (c == ' ')
      flush_word();
    else
      word.push_back(c);
  }
  flush_word();
  if (!line.empty()) lines.push_back(line);
  return lines;
}

Rgb heat_colour(float value) {
  const float v = std::clamp(value, 0.0f, 1.0f);
  // Each channel is a trapezoid over [0, 1], offset so the ramp runs blue, cyan, yellow, red.
  auto ramp = [v](float centre) {
    return std::clamp(1.5f - std::fabs(4.0f * v - centre), 0.0f, 1.0f);
  };
  auto byte = [](float c) { return static_cast<uint8_t>(std::lround(c * 255.0f)); };
  return {byte(ramp(3.0f)), byte(ramp(2.0f)), byte(ramp(1.0f))};
}

void overlay_heat(io::Image& canvas, int x, int y, int size, const std::vector<float>& map,
                  int map_h, int map_w, float opacity) {
  if (map_h <= 0 || map_w <= 0 || map.size() != static_cast<size_t>(map_h) * map_w)
    throw Error("overlay_heat: map size does not match its shape");
  const float sy = static_cast<float>(map_h) / size, sx = static_cast<float>(map_w) / size;
  for (int yy = 0; yy < size; ++yy)
    for (int xx = 0; xx < size; ++xx) {
      const int cx = x + xx, cy = y + yy;
      if (cx < 0 || cy < 0 || cx >= canvas.width || cy >= canvas.height) continue;
      const float v =
          std::clamp(sample(map, map_h, map_w, (yy + 0.5f) * sy, (xx + 0.5f) * sx), 0.0f, 1.0f);
      const Rgb heat = heat_colour(v);
      const float a = opacity * (0.15f + 0.85f * v);
      uint8_t* p = canvas.row(cy) + static_cast<size_t>(cx) * 3;
      for (int c = 0; c < 3; ++c)
        p[c] = static_cast<uint8_t>(std::lround((1 - a) * p[c] + a * heat[static_cast<size_t>(c)]));
    }
}

}  // namespace lavender::eval
