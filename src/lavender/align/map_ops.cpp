#include "lavender/align/map_ops.h"

#include <torch/torch.h>

namespace lavender::align {

at::Tensor resize_maps(const at::Tensor& maps, int64_t height, int64_t width) {
  if (maps.size(-2) == height && maps.size(-1) == width) return maps;
  namespace F = torch::nn::functional;
  return F::interpolate(maps, F::InterpolateFuncOptions()
                                  .size(std::vector<int64_t>{height, width})
                                  .mode(torch::kBilinear)
                                  .align_corners(false));
}

at::Tensor minmax_normalise(const at::Tensor& maps) {
  at::Tensor flat = maps.flatten(-2);
  at::Tensor lo = std::get<0>(flat.min(-1, true)), hi = std::get<0>(flat.max(-1, true));
  at::Tensor range = hi - lo;
  at::Tensor out = (flat - lo) / range.clamp_min(1e-12);
  out = out.masked_fill(range <= 1e-12, 0.0);
  return out.view(maps.sizes());
}

}  // namespace lavender::align
