// A 5×7 bitmap font for labelling figures without a font library: printable ASCII only (other
// bytes draw as '?'). Each glyph is seven rows; bit 4 of a row is its leftmost pixel.
#pragma once

#include <array>
#include <cstdint>

namespace lavender::eval {

constexpr int kGlyphWidth = 5, kGlyphHeight = 7;
using Glyph = std::array<uint8_t, kGlyphHeight>;

const Glyph& glyph(char c);

}  // namespace lavender::eval
