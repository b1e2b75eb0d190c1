// A grid of heat maps, one row per (image, word): the image, then one panel per source of maps
// (teacher, student, ground truth, several models...), each map laid over the image. Column
// headers on top, the row's label under the image and an optional note (wrapped) under the map
// panels; columns widen to their labels, so no label is cut.
// The trainer's alignment figure and the demo report's comparison grids are both drawn by it.
#pragma once

#include <string>
#include <vector>

#include "lavender/io/image.h"

namespace lavender::eval {

struct MapGridRow {
  io::Image image;                       // the square view the maps cover (width 0: grey)
  std::string label;                     // under the image, e.g. the word
  std::string note;                      // under the map panels, e.g. "mse 0.012"
  std::vector<std::vector<float>> maps;  // per map column: S×S row-major in [0, 1]; empty: none
};

struct MapGridOptions {
  int panel = 128;    // side of each square panel in pixels
  std::string title;  // drawn above the headers (wrapped to fit)
  float opacity = 0.6f;
};

// `headers` name every column, the image's first; each row has headers.size() - 1 maps. A map
// that is empty leaves its panel as the plain image crossed out in grey ("no map"). Throws
// lavender::Error for a row with the wrong number of maps or a map that is not S×S.
io::Image map_grid_figure(const std::vector<std::string>& headers,
                          const std::vector<MapGridRow>& rows, const MapGridOptions& options = {});

// One panel of the grid, `panel` pixels square: the image scaled to fit (grey when it has no
// pixels), and with a map laid over it; an empty map crosses the panel out ("no map", never a
// cold map). The demo's HTML report lays these out itself, with its labels as text.
io::Image image_panel(const io::Image& image, int panel);
io::Image map_panel(const io::Image& image, const std::vector<float>& map, int panel,
                    float opacity = 0.6f);

// The side of a square map of `size` values, or 0 when `size` is not a positive square.
int square_side(size_t size);

}  // namespace lavender::eval
