// transformers' CLIPImageProcessor (LLaVA-1.5's image preprocessing) on decoded RGB images:
// resize (shortest edge kept in proportion, or to a fixed size) with Pillow's resampling,
// centre crop, rescale, normalise. Sizes and crop offsets follow transformers exactly.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <utility>
#include <vector>

#include "lavender/io/config/image_processor.h"
#include "lavender/io/image.h"

namespace lavender::vlm {

// (height, width) after transformers' shortest-edge resize: the short side becomes
// `shortest_edge` and the long side int(shortest_edge · long / short), truncated.
std::pair<int, int> shortest_edge_size(int height, int width, int64_t shortest_edge);

// transformers' center_crop on pixels: the window starts at floor((size - crop) / 2) on each
// axis that is large enough. An axis smaller than the crop is padded with zeros (black) on both
// sides; when the padding is odd, the PIL backend puts the extra pixel before the image, the
// torchvision backend after it.
io::Image center_crop(const io::Image& image, int crop_height, int crop_width,
                      io::ImageLibrary library = io::ImageLibrary::pillow);

class ClipImageProcessor {
 public:
  explicit ClipImageProcessor(io::config::ClipImageProcessorConfig config = {});
  // Reads preprocessor_config.json.
  static ClipImageProcessor load(const std::string& path);
  const io::config::ClipImageProcessorConfig& config() const { return config_; }

  // The resized and cropped 8-bit image, before rescaling and normalisation.
  io::Image resize_and_crop(const io::Image& image) const;
  // float32 [3, H, W].
  at::Tensor preprocess(const io::Image& image) const;
  // float32 [N, 3, H, W]; throws lavender::Error when the images end up with different sizes
  // (possible only without a centre crop).
  at::Tensor preprocess(const std::vector<io::Image>& images) const;

 private:
  io::config::ClipImageProcessorConfig config_;
};

}  // namespace lavender::vlm
