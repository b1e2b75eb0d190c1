#include "lavender/eval/map_grid_figure.h"

#include <gtest/gtest.h>

#include "lavender/eval/canvas.h"
#include "lavender/util/error.h"

namespace lavender::eval {
namespace {

constexpr int kGridPanel = 32;
constexpr int kGridMargin = 8, kGridLabel = 7 + 8, kGridCell = kGridPanel + kGridMargin;

io::Image flat(Rgb c) {
  io::Image im;
  im.width = im.height = kGridPanel;
  im.channels = 3;
  im.pixels.resize(kGridPanel * kGridPanel * 3);
  for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = c[i % 3];
  return im;
}

std::vector<uint8_t> panel(const io::Image& fig, int row, int column) {
  std::vector<uint8_t> out;
  const int top = kGridMargin + kGridLabel + row * (kGridPanel + kGridLabel);
  for (int y = top; y < top + kGridPanel; ++y)
    out.insert(out.end(), fig.row(y) + (kGridMargin + column * kGridCell) * 3,
               fig.row(y) + (kGridMargin + column * kGridCell + kGridPanel) * 3);
  return out;
}

TEST(MapGridFigure, ColumnsPerSourceAndAMissingMapIsCrossedOut) {
  MapGridOptions o;
  o.panel = kGridPanel;
  const std::vector<float> hot(16, 1.0f), cold(16, 0.0f);
  std::vector<MapGridRow> rows = {{flat({0, 200, 0}), "red", "", {hot, cold, {}}},
                                  {flat({0, 200, 0}), "star", "what?", {cold, cold, cold}}};
  const io::Image fig = map_grid_figure({"image", "truth", "dm", "vlm"}, rows, o);
  EXPECT_EQ(fig.width, kGridMargin + 4 * kGridCell);
  EXPECT_EQ(fig.height, kGridMargin + kGridLabel + 2 * (kGridPanel + kGridLabel));
  EXPECT_NE(panel(fig, 0, 1), panel(fig, 0, 0));  // a hot map tints the image
  EXPECT_NE(panel(fig, 0, 3), panel(fig, 0, 2));  // "no map" is not "a cold map"
  EXPECT_EQ(panel(fig, 1, 2), panel(fig, 1, 3));  // the same maps draw the same panels
}

TEST(MapGridFigure, ColumnsWidenToTheirLabelsInsteadOfCuttingThem) {
  MapGridOptions o;
  o.panel = kGridPanel;
  const std::vector<float> map(16, 0.5f);
  // "rightmost" is 53 pixels at the 1x font, wider than a 32-pixel panel.
  const io::Image fig =
      map_grid_figure({"image", "truth"}, {{flat({0, 200, 0}), "rightmost", "", {map}}}, o);
  EXPECT_EQ(fig.width, kGridMargin + text_width("rightmost") + kGridMargin + kGridCell);
  // A long note wraps onto more lines (taller) instead of being cut.
  const io::Image noted = map_grid_figure(
      {"image", "truth"},
      {{flat({0, 200, 0}), "red", "what colour is the star to the right of the circle?", {map}}},
      o);
  EXPECT_GT(noted.height, kGridMargin + kGridLabel + kGridPanel + kGridLabel);
}

TEST(MapGridFigure, RefusesRowsThatDoNotFitTheColumns) {
  const std::vector<float> map(16, 0.5f);
  EXPECT_THROW(map_grid_figure({"image", "a", "b"}, {{io::Image{}, "w", "", {map}}}), Error);
  EXPECT_THROW(map_grid_figure({"image", "a"}, {{io::Image{}, "w", "", {std::vector<float>(15)}}}),
               Error);
  EXPECT_THROW(map_grid_figure({"image"}, {}), Error);
  EXPECT_EQ(square_side(16), 4);
  EXPECT_EQ(square_side(15), 0);
}

}  // namespace
}  // namespace lavender::eval
