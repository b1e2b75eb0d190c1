#include "lavender/eval/map_grid_figure.h"

#include <algorithm>
#include <cmath>

#include "lavender/eval/canvas.h"
#include "lavender/eval/font5x7.h"
#include "lavender/eval/word_map_figure.h"
#include "lavender/util/error.h"

namespace lavender::eval {
namespace {

// A panel with no map: the image dimmed under a grey diagonal, so "missing" never reads as "cold".
void grid_cross_out(io::Image& canvas, int x, int y, int size) {
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

io::Image image_panel(const io::Image& image, int panel) {
  return image.width > 0 ? resize_for_display(image, panel, panel)
                         : blank_image(panel, panel, kGrey);
}

io::Image map_panel(const io::Image& image, const std::vector<float>& map, int panel,
                    float opacity) {
  io::Image out = image_panel(image, panel);
  if (map.empty()) {
    grid_cross_out(out, 0, 0, panel);
    return out;
  }
  const int side = square_side(map.size());
  if (side == 0)
    throw Error("map panel: a map of " + std::to_string(map.size()) + " values is not S×S");
  overlay_heat(out, 0, 0, panel, map, side, side, opacity);
  return out;
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
  const int line_h = kGlyphHeight * text_scale + 4, label_h = line_h + 4;
  // Every column is as wide as its header (the image column also as its row labels), so no
  // word is cut: this PNG stands alone (training progress figures, the demo's figures/*.png),
  // so its labels are drawn in the 5×7 font rather than as text around it.
  const size_t columns = headers.size();
  std::vector<int> column_w(columns), column_x(columns);
  for (size_t c = 0; c < columns; ++c)
    column_w[c] = std::max(o.panel, text_width(headers[c], text_scale));
  for (const auto& row : rows)
    column_w[0] = std::max(column_w[0], text_width(row.label, text_scale));
  int x = kFigureMargin;
  for (size_t c = 0; c < columns; ++c) column_x[c] = x, x += column_w[c] + kFigureMargin;
  const int width = x;
  const int notes_w = width - column_x[1] - kFigureMargin;
  const std::vector<std::string> title = wrap_text(o.title, width - 2 * kFigureMargin, text_scale);
  const int title_h = title.empty() ? 0 : static_cast<int>(title.size()) * line_h + 4;
  std::vector<std::vector<std::string>> notes;
  int height = kFigureMargin + title_h + label_h;
  for (const auto& row : rows) {
    notes.push_back(wrap_text(row.note, notes_w, text_scale));
    height += o.panel + 4 + std::max<int>(1, static_cast<int>(notes.back().size())) * line_h;
  }
  io::Image canvas = blank_image(width, height, kBackground);
  for (size_t i = 0; i < title.size(); ++i)
    draw_text(canvas, kFigureMargin, kFigureMargin + static_cast<int>(i) * line_h, title[i], kInk,
              text_scale);
  for (size_t c = 0; c < columns; ++c)
    draw_text(canvas, column_x[c], kFigureMargin + title_h, headers[c], kInk, text_scale);

  int y = kFigureMargin + title_h + label_h;
  for (size_t r = 0; r < rows.size(); ++r) {
    const MapGridRow& row = rows[r];
    paste(canvas, image_panel(row.image, o.panel), column_x[0], y);
    for (size_t m = 0; m < map_columns; ++m)
      paste(canvas, map_panel(row.image, row.maps[m], o.panel, o.opacity), column_x[m + 1], y);
    draw_text(canvas, column_x[0], y + o.panel + 4, row.label, kInk, text_scale);
    for (size_t i = 0; i < notes[r].size(); ++i)
      draw_text(canvas, column_x[1], y + o.panel + 4 + static_cast<int>(i) * line_h, notes[r][i],
                kInk, text_scale);
    y += o.panel + 4 + std::max<int>(1, static_cast<int>(notes[r].size())) * line_h;
  }
  return canvas;
}

}  // namespace lavender::eval
