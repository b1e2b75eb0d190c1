// MiniCPM-Llama3-V 2.5 config (the remote code's MiniCPMVConfig, model_type "minicpmv"): the
// Llama 3 decoder's fields at the top level, `vision_config` with Idefics2VisionConfig fields (the
// SigLIP tower in its NaViT form), the resampler's `query_num`, and `slice_config` for the image
// processor. Fields the file sets win over the class defaults (transformers' PretrainedConfig
// applies the file's keyword arguments after the class's own assignments).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "lavender/io/config/clip.h"
#include "lavender/io/config/llama.h"

namespace lavender::io::config {

// Idefics2VisionConfig's own defaults (used for fields a present vision_config leaves out).
ClipVisionConfig idefics2_vision_defaults();
// The tower MiniCPMVConfig builds when vision_config is absent: SigLIP so400m at 980 px, patch 14.
ClipVisionConfig minicpmv_default_vision_config();

struct MiniCpmVSliceConfig {
  int64_t max_slice_nums = 9;
  int64_t patch_size = 14;
  int64_t scale_resolution = 448;
};

struct MiniCpmVConfig {
  LlamaConfig llm;  // the top-level Llama fields (LlamaForCausalLM under `llm.`)
  ClipVisionConfig vision_config = minicpmv_default_vision_config();
  // Resampler queries: image tokens per image or slice. 96 in the released checkpoint.
  int64_t query_num = 96;
  // The release drops the SigLIP tower's last layer when true (the checkpoint then has one layer
  // fewer); the published config.json says false.
  bool drop_vision_last_layer = true;
  // true: every image and slice of a batch goes through the tower together, zero-padded to the
  // longest (the release's default, with its patch-mask quirk: see vlm/siglip_vision.h).
  bool batch_vision_input = true;
  int64_t image_size = 448;  // the dummy training image's size; not the tower's
  // The processor's patch size (reshape_by_patch, tgt_sizes); must equal the tower's.
  int64_t patch_size = 14;
  bool slice_mode = true;
  bool mm_use_im_start_end = true;
  MiniCpmVSliceConfig slice_config;
};

MiniCpmVConfig parse_minicpmv_config(const nlohmann::json& j, const std::string& source);
MiniCpmVConfig load_minicpmv_config(const std::string& path);

// Resampler heads as the release computes them: the LLM hidden size over 128.
inline int64_t minicpmv_resampler_heads(const MiniCpmVConfig& c) {
  return c.llm.hidden_size / 128;
}

}  // namespace lavender::io::config
