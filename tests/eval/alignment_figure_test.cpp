#include "lavender/eval/alignment_figure.h"

#include <gtest/gtest.h>

#include "lavender/eval/canvas.h"
#include "lavender/util/error.h"

namespace lavender::eval {
namespace {

constexpr int kPanel = 32, kMargin = 8, kLabel = 15,  // 1× font below 96-pixel panels
    kCell = kPanel + kMargin;
// "teacher" and "student" (41 pixels in the 1× font) widen their columns past the panel.
constexpr int kHeaderWidth = 41;
constexpr int kColumnX[] = {kMargin, kMargin + kCell, kMargin + kCell + kHeaderWidth + kMargin};

// Pixels in the rectangle that are not the white background.
int inked(const io::Image& img, int x, int y, int w, int h) {
  int n = 0;
  for (int yy = y; yy < y + h; ++yy)
    for (int xx = x; xx < x + w; ++xx) {
      const uint8_t* p = img.row(yy) + static_cast<size_t>(xx) * 3;
      n += p[0] != 255 || p[1] != 255 || p[2] != 255;
    }
  return n;
}

// The panel (column c of word row r) as its own image, for comparisons.
std::vector<uint8_t> panel(const io::Image& img, int r, int c, int top) {
  std::vector<uint8_t> out;
  const int y0 = top + r * (kPanel + kLabel), x0 = kColumnX[c];
  for (int y = y0; y < y0 + kPanel; ++y)
    out.insert(out.end(), img.row(y) + x0 * 3, img.row(y) + (x0 + kPanel) * 3);
  return out;
}

struct Sample {
  io::Image image = blank_image(50, 50, {0, 200, 0});
  std::vector<std::string> words = {"cat", "dog"};
  std::vector<std::vector<float>> teacher, student;
  Sample() {
    std::vector<float> ramp(16);
    for (size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<float>(i) / 15.0f;
    teacher = {std::vector<float>(16, 1.0f), ramp};  // "cat": the two maps disagree everywhere
    student = {std::vector<float>(16, 0.0f), ramp};  // "dog": they agree
  }
};

TEST(AlignmentFigure, OneRowPerWordOfImageTeacherStudent) {
  Sample s;
  AlignmentFigureOptions o;
  o.panel = kPanel;
  io::Image fig = alignment_figure(s.image, s.words, s.teacher, s.student, o);
  EXPECT_EQ(fig.width, kMargin + kCell + 2 * (kHeaderWidth + kMargin));
  EXPECT_EQ(fig.height, kMargin + kLabel + 2 * (kPanel + kLabel));
  const int top = kMargin + kLabel;  // below the column headers

  // The image column is the image itself.
  const uint8_t* centre = fig.row(top + 16) + (kMargin + 16) * 3;
  EXPECT_EQ(centre[0], 0);
  EXPECT_EQ(centre[1], 200);
  // Where the maps differ the panels differ; where they agree the panels are identical.
  EXPECT_NE(panel(fig, 0, 1, top), panel(fig, 0, 2, top));
  EXPECT_EQ(panel(fig, 1, 1, top), panel(fig, 1, 2, top));
  // A hot map tints the image; the teacher panel of "cat" is no longer the plain image.
  EXPECT_NE(panel(fig, 0, 1, top), panel(fig, 0, 0, top));

  // Headers and each row's labels (word under the image, mse under the pair) are drawn.
  EXPECT_GT(inked(fig, kMargin, kMargin, 3 * kCell - kMargin, kLabel - 4), 0);
  for (int r = 0; r < 2; ++r) {
    const int strip = top + r * (kPanel + kLabel) + kPanel;
    EXPECT_GT(inked(fig, kMargin, strip, kPanel, kLabel), 0) << "word of row " << r;
    EXPECT_GT(inked(fig, kMargin + kCell, strip, 2 * kPanel, kLabel), 0) << "mse of row " << r;
  }
  // The two rows print different errors (1 and 0), so their mse labels differ.
  auto mse_strip = [&](int r) {
    std::vector<uint8_t> out;
    const int strip = top + r * (kPanel + kLabel) + kPanel;
    for (int y = strip; y < strip + kLabel; ++y)
      out.insert(out.end(), fig.row(y) + (kMargin + kCell) * 3, fig.row(y) + fig.width * 3);
    return out;
  };
  EXPECT_NE(mse_strip(0), mse_strip(1));
}

TEST(AlignmentFigure, TitleAddsALineAndAMissingImageIsGrey) {
  Sample s;
  AlignmentFigureOptions o;
  o.panel = kPanel;
  o.title = "step 100  sample 0";
  io::Image fig = alignment_figure(io::Image{}, s.words, s.teacher, s.student, o);
  EXPECT_EQ(fig.height, kMargin + 2 * kLabel + 2 * (kPanel + kLabel));
  EXPECT_GT(inked(fig, kMargin, kMargin, fig.width - 2 * kMargin, kLabel - 4), 0);
  const uint8_t* grey = fig.row(kMargin + 2 * kLabel + 16) + (kMargin + 16) * 3;
  EXPECT_EQ(grey[0], 128);
}

TEST(AlignmentFigure, RefusesMismatchedMaps) {
  Sample s;
  EXPECT_THROW(alignment_figure(s.image, {"cat"}, s.teacher, s.student), Error);
  s.student[1].pop_back();
  EXPECT_THROW(alignment_figure(s.image, s.words, s.teacher, s.student), Error);
  s.teacher[1].pop_back();  // 15 values: not a square
  EXPECT_THROW(alignment_figure(s.image, s.words, s.teacher, s.student), Error);
}

TEST(AlignmentFigure, MseIsTheMeanSquaredDifference) {
  EXPECT_DOUBLE_EQ(map_mse({0, 1, 0, 1}, {0, 0, 0, 0}), 0.5);
  EXPECT_DOUBLE_EQ(map_mse({0.5f, 0.5f}, {0.25f, 0.75f}), 0.0625);
  EXPECT_THROW(map_mse({1}, {1, 2}), Error);
}

TEST(AlignmentFigure, LargePanelsUseTheDoubleFont) {
  Sample s;
  io::Image fig = alignment_figure(s.image, s.words, s.teacher, s.student);  // 128-pixel panels
  EXPECT_EQ(fig.width, kMargin + 3 * (128 + kMargin));
  EXPECT_EQ(fig.height, kMargin + 22 + 2 * (128 + 22));
}

}  // namespace
}  // namespace lavender::eval
