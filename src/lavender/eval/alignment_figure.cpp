#include "lavender/eval/alignment_figure.h"

#include <cmath>
#include <cstdio>

#include "lavender/eval/canvas.h"
#include "lavender/eval/font5x7.h"
#include "lavender/eval/word_map_figure.h"
#include "lavender/util/error.h"

namespace lavender::eval {
namespace {

constexpr Rgb kBackground{255, 255, 255}, kInk{20, 20, 20}, kGrey{128, 128, 128};
constexpr int kMargin = 8;
constexpr int kColumns = 3;  // image | teacher | student

// The side of a square map, or 0 when `size` is not a positive square.
int square_side(size_t size) {
  const auto side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(size))));
  return side > 0 && static_cast<size_t>(side) * side == size ? side : 0;
}

}  // namespace

double map_mse(const std::vector<float>& teacher, const std::vector<float>& student) {
  if (teacher.size() != student.size() || teacher.empty())
    throw Error("map_mse: maps of different sizes (" + std::to_string(teacher.size()) + " vs " +
                std::to_string(student.size()) + ")");
  double sum = 0;
  for (size_t i = 0; i < teacher.size(); ++i) {
    const double d = static_cast<double>(teacher[i]) - student[i];
    sum += d * d;
  }
  return sum / static_cast<double>(teacher.size());
}

io::Image alignment_figure(const io::Image& image, const std::vector<std::string>& words,
                           const std::vector<std::vector<float>>& teacher,
                           const std::vector<std::vector<float>>& student,
                           const AlignmentFigureOptions& o) {
  if (o.panel < 16) throw Error("alignment_figure: panel must be >= 16 pixels");
  if (teacher.size() != words.size() || student.size() != words.size())
    throw Error("alignment_figure: " + std::to_string(words.size()) + " words but " +
                std::to_string(teacher.size()) + " teacher and " + std::to_string(student.size()) +
                " student maps");
  std::vector<int> sides;
  for (size_t i = 0; i < words.size(); ++i) {
    const int side = square_side(teacher[i].size());
    if (side == 0 || teacher[i].size() != student[i].size())
      throw Error("alignment_figure: the maps of \"" + words[i] +
                  "\" are not two S×S maps of one size (" + std::to_string(teacher[i].size()) +
                  " and " + std::to_string(student[i].size()) + " values)");
    sides.push_back(side);
  }

  // Small panels (a grid of many samples) get the 1× font so that words still fit under them.
  const int text_scale = o.panel >= 96 ? 2 : 1;
  const int label_h = kGlyphHeight * text_scale + 8;
  const int cell_w = o.panel + kMargin, cell_h = o.panel + label_h;
  const int width = kMargin + kColumns * cell_w;
  const int title_h = o.title.empty() ? 0 : label_h;
  const int rows = static_cast<int>(words.size());
  io::Image canvas = blank_image(width, kMargin + title_h + label_h + rows * cell_h, kBackground);
  if (!o.title.empty())
    draw_text(canvas, kMargin, kMargin, fit_text(o.title, width - 2 * kMargin, text_scale), kInk,
              text_scale);
  const char* headers[kColumns] = {"image", "teacher", "student"};
  for (int c = 0; c < kColumns; ++c)
    draw_text(canvas, kMargin + c * cell_w, kMargin + title_h,
              fit_text(headers[c], o.panel, text_scale), kInk, text_scale);

  const io::Image base = image.width > 0 ? resize_for_display(image, o.panel, o.panel)
                                         : blank_image(o.panel, o.panel, kGrey);
  for (int r = 0; r < rows; ++r) {
    const auto i = static_cast<size_t>(r);
    const int y = kMargin + title_h + label_h + r * cell_h;
    for (int c = 0; c < kColumns; ++c) paste(canvas, base, kMargin + c * cell_w, y);
    overlay_heat(canvas, kMargin + cell_w, y, o.panel, teacher[i], sides[i], sides[i], o.opacity);
    overlay_heat(canvas, kMargin + 2 * cell_w, y, o.panel, student[i], sides[i], sides[i],
                 o.opacity);
    // The word under the image, its error under the pair it measures.
    draw_text(canvas, kMargin, y + o.panel + 4, fit_text(words[i], o.panel, text_scale), kInk,
              text_scale);
    char mse[48];
    std::snprintf(mse, sizeof mse, "mse %.3g", map_mse(teacher[i], student[i]));
    draw_text(canvas, kMargin + cell_w, y + o.panel + 4,
              fit_text(mse, 2 * o.panel + kMargin, text_scale), kInk, text_scale);
  }
  return canvas;
}

}  // namespace lavender::eval
