#include "lavender/eval/map_grid_figure.h"

#include <cmath>

#include "lavender/eval/canvas.h"
#include "lavender/eval/font5x7.h"
#include "lavender/eval/word_map_figure.h"
#include "lavender/util/error.h"

namespace lavender::eval {
namespace {

// A panel with no map: the image dimmed under a grey diagonal, so "missing" never reads as "cold".
void cross_out(io::Image& canvas, int x, int y, int size) {
  for (int i = 0; i < size; ++i)
    for (int w = -1; w <= 1; ++w) {
      fill_rect(canvas, x + i, y + i + w, 1, 1, kGrey);
      fill_rect(canvas, x + size - 1 - i, y + i + w, 1, 1, kGrey);
    }
}

}  // namespace

int square_side(size_t size) {
  const auto side = static_cast<int>(std::lround(std::sqrt(static_cast<double>(size))));
  return side > 0 && static_cast<size_t>(side) * side == size ? side : 0;
}

io::Image map_grid_figure(const std::vector<std::string>& headers,
                          const std::vector<MapGridRow>& rows, const MapGridOptions& o) {
  if (o.panel < 16) throw Error("map grid figure: panel must be >= 16 pixels");
  if (headers.size() < 2) throw Error("map grid figure: need the image column and a map column");
  const size_t map_columns = headers.size() - 1;
  for (const auto& row : rows) {
    if (row.maps.size() != map_columns)
      throw Error("map grid figure: row \"" + row.label + "\" has " +
                  std::to_string(row.maps.size()) + " maps for " + std::to_string(map_columns) +
                  " map columns");
    for (const auto& m : row.maps)
      if (!m.empty() && square_side(m.size()) == 0)
        throw Error("map grid figure: a map of row \"" + row.label + "\" is not S×S (" +
                    std::to_string(m.size()) + " values)");
  }

  // Small panels (a grid of many samples) get the 1× font so that words still fit under them.
  const int text_scale = o.panel >= 96 ? 2 : 1;
  const int label_h = kGlyphHeight * text_scale + 8;
  const int cell_w = o.panel + kFigureMargin, cell_h = o.panel + label_h;
  const int columns = static_cast<int>(headers.size());
  const int width = kFigureMargin + columns * cell_w;
  const int title_h = o.title.empty() ? 0 : label_h;
  io::Image canvas =
      blank_image(width, kFigureMargin + title_h + label_h + static_cast<int>(rows.size()) * cell_h,
                  kBackground);
  if (!o.title.empty())
    draw_text(canvas, kFigureMargin, kFigureMargin,
              fit_text(o.title, width - 2 * kFigureMargin, text_scale), kInk, text_scale);
  for (int c = 0; c < columns; ++c)
    draw_text(canvas, kFigureMargin + c * cell_w, kFigureMargin + title_h,
              fit_text(headers[static_cast<size_t>(c)], o.panel, text_scale), kInk, text_scale);

  for (size_t r = 0; r < rows.size(); ++r) {
    const MapGridRow& row = rows[r];
    const int y = kFigureMargin + title_h + label_h + static_cast<int>(r) * cell_h;
    const io::Image base = row.image.width > 0 ? resize_for_display(row.image, o.panel, o.panel)
                                               : blank_image(o.panel, o.panel, kGrey);
    for (int c = 0; c < columns; ++c) paste(canvas, base, kFigureMargin + c * cell_w, y);
    for (size_t m = 0; m < map_columns; ++m) {
      const int x = kFigureMargin + static_cast<int>(m + 1) * cell_w;
      if (row.maps[m].empty()) {
        cross_out(canvas, x, y, o.panel);
        continue;
      }
      const int side = square_side(row.maps[m].size());
      overlay_heat(canvas, x, y, o.panel, row.maps[m], side, side, o.opacity);
    }
    draw_text(canvas, kFigureMargin, y + o.panel + 4, fit_text(row.label, o.panel, text_scale),
              kInk, text_scale);
    if (!row.note.empty())
      draw_text(
          canvas, kFigureMargin + cell_w, y + o.panel + 4,
          fit_text(row.note, static_cast<int>(map_columns) * cell_w - kFigureMargin, text_scale),
          kInk, text_scale);
  }
  return canvas;
}

}  // namespace lavender::eval
