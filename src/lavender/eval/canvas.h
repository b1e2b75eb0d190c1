// Drawing on an 8-bit RGB io::Image for figures: filled rectangles, pasted images, 5×7 text and
// heat-map overlays. Everything clips at the canvas edge, so callers can lay out freely.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "lavender/io/image.h"

namespace lavender::eval {

using Rgb = std::array<uint8_t, 3>;
// The figures' shared palette and spacing.
inline constexpr Rgb kBackground{255, 255, 255}, kInk{20, 20, 20}, kGrey{128, 128, 128};
inline constexpr int kFigureMargin = 8;

io::Image blank_image(int width, int height, Rgb colour);
void fill_rect(io::Image& canvas, int x, int y, int width, int height, Rgb colour);
// Copies an RGB image with its top-left corner at (x, y).
void paste(io::Image& canvas, const io::Image& image, int x, int y);

// Text in the 5×7 font, each font pixel drawn as scale×scale; returns the width used.
int draw_text(io::Image& canvas, int x, int y, const std::string& text, Rgb colour, int scale = 1);
int text_width(const std::string& text, int scale = 1);
// `text` cut (with a trailing "..") to fit `width` pixels at `scale`.
std::string fit_text(const std::string& text, int width, int scale = 1);
// `text` broken at spaces into lines of at most `width` pixels at `scale` (a single word wider
// than that keeps a line of its own: nothing is cut); text that fits is one line, as given. No
// lines for empty text.
std::vector<std::string> wrap_text(const std::string& text, int width, int scale = 1);

// The "jet"-style colour of a value in [0, 1] (blue → cyan → yellow → red); values outside are
// clamped.
Rgb heat_colour(float value);

// Blends a heat map over the canvas region (x, y, size × size): `map` is map_h × map_w values in
// [0, 1] (row-major), sampled bilinearly (pixel centres aligned, as a resize would). `opacity`
// is the heat colour's weight where the map is 1; it fades with the value so cold regions keep
// the image visible.
void overlay_heat(io::Image& canvas, int x, int y, int size, const std::vector<float>& map,
                  int map_h, int map_w, float opacity = 0.6f);

}  // namespace lavender::eval
