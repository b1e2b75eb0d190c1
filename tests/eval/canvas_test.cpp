#include "lavender/eval/canvas.h"

#include <gtest/gtest.h>

#include "lavender/eval/font5x7.h"
#include "lavender/util/error.h"

namespace lavender::eval {
namespace {

Rgb pixel(const io::Image& image, int x, int y) {
  const uint8_t* p = image.row(y) + static_cast<size_t>(x) * 3;
  return {p[0], p[1], p[2]};
}

TEST(Font5x7, GlyphsHaveTheirShapeAndUnknownBytesDrawAsQuestionMarks) {
  const Glyph& l = glyph('L');
  for (int row = 0; row < 6; ++row) EXPECT_EQ(l[static_cast<size_t>(row)], 0x10) << row;
  EXPECT_EQ(l[6], 0x1f);
  for (uint8_t row : glyph(' ')) EXPECT_EQ(row, 0);
  EXPECT_EQ(glyph('\xc3'), glyph('?'));
  EXPECT_EQ(glyph('\n'), glyph('?'));
  EXPECT_NE(glyph('a'), glyph('b'));
}

TEST(Canvas, TextIsDrawnAtScaleAndMeasured) {
  io::Image img = blank_image(40, 20, {255, 255, 255});
  EXPECT_EQ(draw_text(img, 1, 2, "L", {0, 0, 0}, 2), 10);
  EXPECT_EQ(pixel(img, 1, 2), (Rgb{0, 0, 0}));        // the L's stem, top-left
  EXPECT_EQ(pixel(img, 2, 3), (Rgb{0, 0, 0}));        // scale 2: a 2×2 block
  EXPECT_EQ(pixel(img, 3, 2), (Rgb{255, 255, 255}));  // right of the stem
  EXPECT_EQ(pixel(img, 10, 14), (Rgb{0, 0, 0}));      // the foot's right end (row 6, col 4)
  EXPECT_EQ(text_width("ab", 1), 11);
  EXPECT_EQ(text_width("", 3), 0);
  EXPECT_EQ(fit_text("short", 100), "short");
  const std::string cut = fit_text("a-very-long-word", 40);
  EXPECT_LE(text_width(cut), 40);
  EXPECT_EQ(cut.substr(cut.size() - 2), "..");
  draw_text(img, 35, 15, "clipped at the edge", {0, 0, 0}, 3);  // must not write outside
}

TEST(Canvas, WrappedTextKeepsEveryWord) {
  using Lines = std::vector<std::string>;
  // 11 characters fit in 65 pixels at the 1x font (6 per character, less the last gap).
  EXPECT_EQ(wrap_text("what colour is the star?", 65), (Lines{"what colour", "is the", "star?"}));
  EXPECT_EQ(wrap_text("rightmost", 20), (Lines{"rightmost"}));  // too wide, but whole
  EXPECT_EQ(wrap_text("", 50), Lines{});
  EXPECT_EQ(wrap_text("step 100  key", 200), (Lines{"step 100  key"}));  // fits: as given
  EXPECT_EQ(wrap_text("two  spaces", 40), (Lines{"two", "spaces"}));
}

TEST(Canvas, HeatColoursRunFromBlueToRed) {
  Rgb cold = heat_colour(0), hot = heat_colour(1), mid = heat_colour(0.5f);
  EXPECT_GT(cold[2], 100);
  EXPECT_EQ(cold[0], 0);
  EXPECT_GT(hot[0], 100);
  EXPECT_EQ(hot[2], 0);
  EXPECT_EQ(mid[1], 255);
  EXPECT_EQ(heat_colour(-3), cold);
  EXPECT_EQ(heat_colour(7), hot);
}

TEST(Canvas, OverlayFollowsTheMap) {
  io::Image img = blank_image(64, 64, {128, 128, 128});
  // 2×2 map, hot top-left only: the overlay is red there and blue in the opposite corner.
  overlay_heat(img, 0, 0, 64, {1, 0, 0, 0}, 2, 2, 0.8f);
  Rgb tl = pixel(img, 2, 2), br = pixel(img, 61, 61);
  EXPECT_GT(tl[0], tl[2] + 60);
  EXPECT_GT(br[2], br[0]);
  EXPECT_THROW(overlay_heat(img, 0, 0, 8, {1, 0, 0}, 2, 2), Error);
  overlay_heat(img, 50, 50, 64, {1, 0, 0, 0}, 2, 2);  // clipped, no write outside
}

TEST(Canvas, PasteAndFillClip) {
  io::Image img = blank_image(8, 8, {0, 0, 0});
  io::Image red = blank_image(4, 4, {255, 0, 0});
  paste(img, red, 6, 6);
  EXPECT_EQ(pixel(img, 7, 7), (Rgb{255, 0, 0}));
  EXPECT_EQ(pixel(img, 5, 5), (Rgb{0, 0, 0}));
  fill_rect(img, -4, -4, 6, 6, {0, 255, 0});
  EXPECT_EQ(pixel(img, 1, 1), (Rgb{0, 255, 0}));
  EXPECT_EQ(pixel(img, 2, 2), (Rgb{0, 0, 0}));
}

}  // namespace
}  // namespace lavender::eval
