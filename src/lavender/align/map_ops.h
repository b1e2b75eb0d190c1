// The map helpers that every side uses — the teacher's per-word maps, the student's attention
// maps, evaluation and figures — in one home, so that a map means the same thing everywhere.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace lavender::align {

// [N, C, H, W] → [N, C, height, width], bilinear with align_corners = false (the
// reference's F.interpolate); the maps themselves when they already have that size.
at::Tensor resize_maps(const at::Tensor& maps, int64_t height, int64_t width);

// Min-max normalisation over the last two dimensions to [0, 1]; a constant map becomes zeros.
at::Tensor minmax_normalise(const at::Tensor& maps);

}  // namespace lavender::align
