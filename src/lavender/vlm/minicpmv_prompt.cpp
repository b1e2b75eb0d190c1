#include "lavender/vlm/minicpmv_prompt.h"

#include <ATen/ATen.h>

#include <filesystem>

#include "lavender/util/error.h"
#include "lavender/vlm/minicpmv.h"

namespace lavender::vlm {

MiniCpmVImageProcessor minicpmv_image_processor(const std::string& folder,
                                                const io::config::MiniCpmVConfig& config) {
  const std::string path = folder + "/preprocessor_config.json";
  if (std::filesystem::exists(path))
    return MiniCpmVImageProcessor(load_minicpmv_image_processor_config(path));
  MiniCpmVImageProcessorConfig c;
  c.max_slice_nums = config.slice_config.max_slice_nums;
  c.scale_resolution = config.slice_config.scale_resolution;
  c.patch_size = config.slice_config.patch_size;
  c.image_feature_size = config.query_num;
  return MiniCpmVImageProcessor(c);
}

std::vector<int64_t> minicpmv_placeholder_ids(const text::Tokenizer& tokenizer,
                                              const MiniCpmVImageInputs& image,
                                              const MiniCpmVImageProcessorConfig& config) {
  std::vector<int64_t> ids = tokenizer.encode(image.placeholder, /*add_special=*/false);
  const int64_t start = tokenizer.token_to_id(config.im_start);
  const int64_t end = tokenizer.token_to_id(config.im_end);
  const at::Tensor bounds = image_bounds_from_ids(at::tensor(ids, at::kLong), start, end);
  const int64_t pictures = static_cast<int64_t>(image.pixel_values.size());
  bool ok = bounds.size(0) == pictures;
  for (int64_t k = 0; ok && k < bounds.size(0); ++k)
    ok = (bounds[k][1] - bounds[k][0]).item<int64_t>() == config.image_feature_size;
  if (!ok)
    throw Error("MiniCPM-V: the tokenizer does not keep " + config.im_start + ", " + config.unk +
                " and " + config.im_end + " as single tokens (" + std::to_string(pictures) +
                " runs of " + std::to_string(config.image_feature_size) + " " + config.unk +
                " expected in an image's placeholder)");
  return ids;
}

std::vector<int64_t> expand_minicpmv_image(const std::vector<int64_t>& ids, int64_t image_token,
                                           const std::vector<int64_t>& placeholder,
                                           std::vector<int64_t>* positions) {
  std::vector<int64_t> out;
  if (positions) positions->clear();
  for (int64_t id : ids) {
    if (id == image_token)
      out.insert(out.end(), placeholder.begin(), placeholder.end());
    else
      out.push_back(id);
    if (positions) positions->push_back(static_cast<int64_t>(out.size()) - 1);
  }
  return out;
}

}  // namespace lavender::vlm
