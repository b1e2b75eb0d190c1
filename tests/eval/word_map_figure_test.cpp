#include "lavender/eval/word_map_figure.h"

#include <gtest/gtest.h>

#include "lavender/eval/canvas.h"
#include "lavender/util/error.h"

namespace lavender::eval {
namespace {

TEST(WordMapFigure, LaysOutTheImageThenOnePanelPerWord) {
  io::Image photo = blank_image(100, 100, {0, 200, 0});
  std::vector<WordMap> maps;
  for (const char* w : {"cat", "dog", "tree"}) maps.push_back({w, std::vector<float>(16, 0.5f), 4});
  FigureOptions o;
  o.panel = 32;
  o.columns = 2;
  o.title = "a cat and a dog under a tree";
  io::Image fig = word_map_figure(photo, maps, o);
  // 4 panels in 2 columns: 2 rows; a title line on top.
  EXPECT_EQ(fig.width, 8 + 2 * (32 + 8));
  EXPECT_EQ(fig.height, 8 + 22 + 2 * (32 + 22));
  // The first panel is the image itself (green), the second is tinted by the map.
  const uint8_t* first = fig.row(8 + 22 + 16) + (8 + 16) * 3;
  EXPECT_EQ(first[1], 200);
  const uint8_t* second = fig.row(8 + 22 + 16) + (8 + 40 + 16) * 3;
  EXPECT_NE(second[0], 0);
}

TEST(WordMapFigure, MissingImageDrawsGreyAndBadMapsAreRefused) {
  io::Image none;
  std::vector<WordMap> maps = {{"x", std::vector<float>(4, 1.0f), 2}};
  io::Image fig = word_map_figure(none, maps);
  EXPECT_GT(fig.width, 0);
  maps[0].side = 3;
  EXPECT_THROW(word_map_figure(none, maps), Error);
}

TEST(WordMapFigure, DisplayResizeKeepsFlatColourAndAverages) {
  io::Image flat = blank_image(37, 23, {10, 20, 30});
  io::Image small = resize_for_display(flat, 5, 5);
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 5; ++x) EXPECT_EQ(small.row(y)[x * 3 + 2], 30);
  io::Image checker = blank_image(2, 2, {0, 0, 0});
  fill_rect(checker, 0, 0, 1, 1, {200, 200, 200});
  fill_rect(checker, 1, 1, 1, 1, {200, 200, 200});
  EXPECT_EQ(resize_for_display(checker, 1, 1).row(0)[0], 100);
  EXPECT_EQ(resize_for_display(checker, 4, 4).width, 4);
}

}  // namespace
}  // namespace lavender::eval
