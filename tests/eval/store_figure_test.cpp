#include "lavender/eval/store_figure.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lavender/eval/canvas.h"
#include "lavender/io/map_store.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::eval {
namespace {

// A store with one entry "pic.png" (words red, blue) whose maps are hot in the left and right
// halves; the 60×40 source image was cropped to its central 40×40 square.
void write_store(const test::TempDir& dir) {
  io::Image img = blank_image(60, 40, {0, 0, 0});
  fill_rect(img, 10, 0, 40, 40, {200, 200, 200});
  io::write_png(dir.file("pic.png"), img);
  io::MapStoreWriter store(dir.file("store"), {{"map_size", 4}, {"recipe", "t"}});
  io::MapEntry e;
  e.key = "pic.png";
  e.image = "pic.png";
  e.text = "red left, blue right";
  e.words = {"red", "blue"};
  e.token_spans = {{1, 2}, {3, 4}};
  e.extra = {{"crop", {10, 0, 40, 40}}};
  at::Tensor maps = torch::zeros({2, 4, 4});
  maps[0].narrow(1, 0, 2).fill_(1);
  maps[1].narrow(1, 2, 2).fill_(1);
  store.add(e, maps);
}

TEST(StoreFigure, DrawsTheCroppedImageWithEachWordsMap) {
  test::TempDir dir;
  write_store(dir);
  StoreFigureOptions o;
  o.images = dir.path();
  o.figure.panel = 32;
  auto fig = store_figure(dir.file("store"), "pic.png", o);
  EXPECT_TRUE(fig.note.empty()) << fig.note;
  // Panels: image, red, blue in one row below the title.
  EXPECT_EQ(fig.image.width, 8 + 3 * 40);
  const int y = 8 + 22 + 16;
  const uint8_t* image_px = fig.image.row(y) + (8 + 2) * 3;  // inside the crop: light grey
  EXPECT_EQ(image_px[0], 200);
  const uint8_t* red_left = fig.image.row(y) + (48 + 4) * 3;
  const uint8_t* red_right = fig.image.row(y) + (48 + 28) * 3;
  EXPECT_GT(red_left[0], red_left[2]);    // hot: red
  EXPECT_GT(red_right[2], red_right[0]);  // cold: blue
  const uint8_t* blue_right = fig.image.row(y) + (88 + 28) * 3;
  EXPECT_GT(blue_right[0], blue_right[2]);
}

TEST(StoreFigure, WordFilterMissingImageAndUnknownKeys) {
  test::TempDir dir;
  write_store(dir);
  StoreFigureOptions o;
  o.figure.panel = 32;
  o.words = {"blue"};
  auto fig = store_figure(dir.file("store"), "pic.png", o);  // no image root: not found
  EXPECT_NE(fig.note.find("pic.png"), std::string::npos);
  EXPECT_EQ(fig.image.width, 8 + 2 * 40);
  o.words = {"green"};
  EXPECT_THROW(store_figure(dir.file("store"), "pic.png", o), Error);
  try {
    store_figure(dir.file("store"), "pic", {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"pic.png\""), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lavender::eval
