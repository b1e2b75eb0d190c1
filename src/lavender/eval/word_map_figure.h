// The figure a user looks at first: the image, then one panel per word with that word's
// attention map laid over the image as a heat map, each labelled with its word. Used for the
// teacher's maps (show-maps) and the VLM's (generate --show-attention).
#pragma once

#include <string>
#include <vector>

#include "lavender/io/image.h"

namespace lavender::eval {

struct WordMap {
  std::string word;
  std::vector<float> values;  // side × side, row-major, in [0, 1]
  int side = 0;
};

struct FigureOptions {
  int panel = 192;    // side of each square panel in pixels
  int columns = 5;    // panels per row (the image counts as one)
  std::string title;  // drawn above the panels (cut to fit), e.g. the caption
  float opacity = 0.6f;
};

// `image` is the square view the maps cover (any size: it is resized to the panel). An image
// with width 0 draws the maps over grey (the source image was not found).
io::Image word_map_figure(const io::Image& image, const std::vector<WordMap>& maps,
                          const FigureOptions& options = {});

// Nearest-neighbour-free resize for display: box-filtered when shrinking, bilinear when growing.
io::Image resize_for_display(const io::Image& image, int width, int height);

}  // namespace lavender::eval
