#include "lavender/parity/run_preprocess.h"

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>

#include "lavender/io/config/image_processor.h"
#include "lavender/io/image.h"
#include "lavender/util/error.h"
#include "lavender/vlm/clip_image_processor.h"
#include "lavender/vlm/mllama_image_processor.h"

namespace lavender::parity {

Outputs run_preprocess(const Fixture& f) {
  const io::Image image = io::read_image(f.path("input.png"));
  Outputs out;
  for (const auto& [key, settings] : f.meta.items()) {
    if (!settings.is_object() || !settings.contains("image_processor_type")) continue;
    const std::string type = settings["image_processor_type"].is_string()
                                 ? settings["image_processor_type"].get<std::string>()
                                 : "";
    const std::string source = f.path("meta.json") + " (" + key + ")";
    // The Fast (torchvision) variants take the same settings.
    if (type.rfind("CLIPImageProcessor", 0) == 0) {
      vlm::ClipImageProcessor processor(
          io::config::parse_clip_image_processor_config(settings, source));
      out[key + ".pixel_values"] = processor.preprocess(std::vector<io::Image>{image});
    } else if (type.rfind("MllamaImageProcessor", 0) == 0) {
      vlm::MllamaImageProcessor processor(
          io::config::parse_mllama_image_processor_config(settings, source));
      vlm::MllamaImageBatch batch = processor.preprocess({{image}});
      out[key + ".pixel_values"] = batch.pixel_values;
      out[key + ".aspect_ratio_ids"] = batch.aspect_ratio_ids;
      out[key + ".aspect_ratio_mask"] = batch.aspect_ratio_mask;
      const auto expected = f.meta.find(key + ".num_tiles");
      if (expected != f.meta.end() && *expected != nlohmann::json(batch.num_tiles))
        throw Error(source + ": num_tiles " + nlohmann::json(batch.num_tiles).dump() +
                    " != reference " + expected->dump());
    }
  }
  return out;
}

}  // namespace lavender::parity
