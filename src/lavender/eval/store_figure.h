// The figure of one stored image's teacher maps (lavender show-maps): reads the map store, finds
// the source image and its square crop as the extraction saw it, and lays each word's map over it.
#pragma once

#include <string>
#include <vector>

#include "lavender/eval/word_map_figure.h"
#include "lavender/io/image.h"

namespace lavender::eval {

struct StoreFigureOptions {
  std::string images;              // root for relative image paths ("" → as stored)
  std::vector<std::string> words;  // only these words (empty → all stored words)
  FigureOptions figure;
};

struct StoreFigure {
  io::Image image;
  std::string note;  // why the maps are drawn over grey, when they are
};

// Throws lavender::Error for a missing store or key (naming near keys), or words the entry lacks.
StoreFigure store_figure(const std::string& store, const std::string& key,
                         const StoreFigureOptions& options);

}  // namespace lavender::eval
