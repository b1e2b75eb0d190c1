// Image processor settings (preprocessor_config.json) of the two VLM families:
// transformers' CLIPImageProcessor (LLaVA-1.5) and MllamaImageProcessor (Llama 3.2 Vision).
// Defaults follow transformers; fields the processors ignore (processor_class, ...) are ignored.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "lavender/io/resample.h"

namespace lavender::io::config {

// Largest resize/crop/tile edge a config may ask for (a 16k-pixel edge is far beyond any model).
inline constexpr int64_t kMaxImageEdge = 16384;
// Largest max_image_tiles: the processor allocates that many tiles per image.
inline constexpr int64_t kMaxImageTiles = 64;

using ChannelValues = std::array<double, 3>;
inline constexpr ChannelValues kOpenAiClipMean = {0.48145466, 0.4578275, 0.40821073};
inline constexpr ChannelValues kOpenAiClipStd = {0.26862954, 0.26130258, 0.27577711};

struct ClipImageProcessorConfig {
  // Not a JSON field: which transformers backend to reproduce. transformers 5 runs the
  // torchvision one unless asked for the PIL one (4.x's default); they differ by a level in a
  // few resampled pixels and in where an odd padding pixel goes (see io/resample.h).
  ImageLibrary library = ImageLibrary::torchvision;
  // Decoded images are always RGB here, so this is recorded, not acted on.
  bool do_convert_rgb = true;
  bool do_resize = true;
  // "size": {"shortest_edge": n} scales the short side to n keeping the aspect ratio (a bare
  // integer means the same); {"height": h, "width": w} resizes to exactly h x w. Exactly one of
  // shortest_edge and (resize_height, resize_width) is non-zero.
  int64_t shortest_edge = 224;
  int64_t resize_height = 0;
  int64_t resize_width = 0;
  Resample resample = Resample::bicubic;
  bool do_center_crop = true;
  // "crop_size": {"height": h, "width": w} or a bare integer for a square.
  int64_t crop_height = 224;
  int64_t crop_width = 224;
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;
  bool do_normalize = true;
  // "image_mean"/"image_std": three numbers or one for every channel; std must not be 0.
  ChannelValues image_mean = kOpenAiClipMean;
  ChannelValues image_std = kOpenAiClipStd;
};

struct MllamaImageProcessorConfig {
  // Not a JSON field: as ClipImageProcessorConfig::library.
  ImageLibrary library = ImageLibrary::torchvision;
  bool do_convert_rgb = true;
  // Tile edge: "size" {"height": t, "width": t} (the two must match) or a bare integer.
  int64_t tile_size = 224;
  Resample resample = Resample::bilinear;
  // The most tiles one image may be split into; the aspect ratios offered follow from it.
  int64_t max_image_tiles = 4;
  bool do_rescale = true;
  double rescale_factor = 1.0 / 255.0;
  bool do_normalize = true;
  ChannelValues image_mean = {0.5, 0.5, 0.5};
  ChannelValues image_std = {0.5, 0.5, 0.5};
  // transformers refuses do_resize=false and do_pad=false for mllama; so do we (field errors).
};

// `source` names the document in error messages (usually the file path).
ClipImageProcessorConfig parse_clip_image_processor_config(const nlohmann::json& j,
                                                           const std::string& source);
MllamaImageProcessorConfig parse_mllama_image_processor_config(const nlohmann::json& j,
                                                               const std::string& source);
ClipImageProcessorConfig load_clip_image_processor_config(const std::string& path);
MllamaImageProcessorConfig load_mllama_image_processor_config(const std::string& path);

}  // namespace lavender::io::config
