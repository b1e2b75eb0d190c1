#include "lavender/eval/word_map_figure.h"

#include <algorithm>
#include <cmath>

#include "lavender/eval/canvas.h"
#include "lavender/eval/font5x7.h"
#include "lavender/util/error.h"

namespace lavender::eval {
namespace {

constexpr int kTextScale = 2;
constexpr int kLabelHeight = kGlyphHeight * kTextScale + 8;

// One output channel value averaged over the source box [x0, x1) × [y0, y1) (fractional edges
// weighted by coverage).
float box_average(const io::Image& image, int c, float x0, float x1, float y0, float y1) {
  float sum = 0, weight = 0;
  for (int y = static_cast<int>(y0); y < static_cast<int>(std::ceil(y1)); ++y) {
    const float wy = std::min(y1, y + 1.0f) - std::max(y0, static_cast<float>(y));
    for (int x = static_cast<int>(x0); x < static_cast<int>(std::ceil(x1)); ++x) {
      const float wx = std::min(x1, x + 1.0f) - std::max(x0, static_cast<float>(x));
      sum += wx * wy * image.row(y)[static_cast<size_t>(x) * 3 + c];
      weight += wx * wy;
    }
  }
  return weight > 0 ? sum / weight : 0;
}

float bilinear(const io::Image& image, int c, float fx, float fy) {
  fx = std::clamp(fx - 0.5f, 0.0f, static_cast<float>(image.width - 1));
  fy = std::clamp(fy - 0.5f, 0.0f, static_cast<float>(image.height - 1));
  const int x0 = static_cast<int>(fx), y0 = static_cast<int>(fy);
  const int x1 = std::min(x0 + 1, image.width - 1), y1 = std::min(y0 + 1, image.height - 1);
  const float tx = fx - x0, ty = fy - y0;
  auto at = [&](int x, int y) {
    return static_cast<float>(image.row(y)[static_cast<size_t>(x) * 3 + c]);
  };
  return (at(x0, y0) * (1 - tx) + at(x1, y0) * tx) * (1 - ty) +
         (at(x0, y1) * (1 - tx) + at(x1, y1) * tx) * ty;
}

}  // namespace

io::Image resize_for_display(const io::Image& image, int width, int height) {
  if (image.channels != 3 || image.width <= 0 || image.height <= 0 || width <= 0 || height <= 0)
    throw Error("resize_for_display: need a non-empty RGB image and a positive size");
  io::Image out = blank_image(width, height, kBackground);
  const float sx = static_cast<float>(image.width) / width;
  const float sy = static_cast<float>(image.height) / height;
  const bool shrink = sx > 1 || sy > 1;
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c) {
        const float v = shrink ? box_average(image, c, x * sx, (x + 1) * sx, y * sy, (y + 1) * sy)
                               : bilinear(image, c, (x + 0.5f) * sx, (y + 0.5f) * sy);
        out.row(y)[static_cast<size_t>(x) * 3 + c] =
            static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
      }
  return out;
}

io::Image word_map_figure(const io::Image& image, const std::vector<WordMap>& maps,
                          const FigureOptions& o) {
  if (o.panel < 16 || o.columns < 1) throw Error("word_map_figure: panel >= 16, columns >= 1");
  for (const auto& m : maps)
    if (m.side <= 0 || m.values.size() != static_cast<size_t>(m.side) * m.side)
      throw Error("word_map_figure: map of \"" + m.word + "\" is not side × side");
  const int panels = static_cast<int>(maps.size()) + 1;
  const int columns = std::min(o.columns, panels);
  const int rows = (panels + columns - 1) / columns;
  const int cell_w = o.panel + kFigureMargin, cell_h = o.panel + kLabelHeight;
  const int title_h = o.title.empty() ? 0 : kLabelHeight;
  const int width = kFigureMargin + columns * cell_w;
  io::Image canvas = blank_image(width, kFigureMargin + title_h + rows * cell_h, kBackground);
  if (!o.title.empty())
    draw_text(canvas, kFigureMargin, kFigureMargin,
              fit_text(o.title, width - 2 * kFigureMargin, kTextScale), kInk, kTextScale);

  io::Image base = image.width > 0 ? resize_for_display(image, o.panel, o.panel)
                                   : blank_image(o.panel, o.panel, kGrey);
  for (int i = 0; i < panels; ++i) {
    const int x = kFigureMargin + (i % columns) * cell_w;
    const int y = kFigureMargin + title_h + (i / columns) * cell_h;
    paste(canvas, base, x, y);
    std::string label = "image";
    if (i > 0) {
      const WordMap& m = maps[static_cast<size_t>(i - 1)];
      overlay_heat(canvas, x, y, o.panel, m.values, m.side, m.side, o.opacity);
      label = m.word;
    }
    draw_text(canvas, x, y + o.panel + 4, fit_text(label, o.panel, kTextScale), kInk, kTextScale);
  }
  return canvas;
}

}  // namespace lavender::eval
