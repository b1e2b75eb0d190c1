#include "lavender/io/config/minicpmv.h"

#include <nlohmann/json.hpp>

#include "lavender/io/config/json_fields.h"
#include "lavender/io/json_file.h"

namespace lavender::io::config {

ClipVisionConfig idefics2_vision_defaults() {
  ClipVisionConfig c;
  c.hidden_size = 768;
  c.intermediate_size = 3072;
  c.num_hidden_layers = 12;
  c.num_attention_heads = 12;
  c.head_dim = 64;
  c.num_channels = 3;
  c.image_size = 224;
  c.patch_size = 32;
  c.hidden_act = "gelu_pytorch_tanh";
  c.layer_norm_eps = 1e-6;
  return c;
}

ClipVisionConfig minicpmv_default_vision_config() {
  ClipVisionConfig c = idefics2_vision_defaults();
  c.hidden_size = 1152;
  c.image_size = 980;
  c.intermediate_size = 4304;
  c.num_attention_heads = 16;
  c.head_dim = 72;
  c.num_hidden_layers = 27;
  c.patch_size = 14;
  return c;
}

MiniCpmVConfig parse_minicpmv_config(const nlohmann::json& j, const std::string& source) {
  const Fields f(j, source);
  const MiniCpmVConfig d;
  MiniCpmVConfig c;
  f.one_of("model_type", "minicpmv", {"minicpmv"});
  // Other releases share model_type "minicpmv" but not the architecture (2.0: MiniCPM LLM and a
  // different resampler; 2.6: Qwen2 and a fixed patch mask); "version" tells them apart.
  if (const nlohmann::json* v = f.find("version")) {
    const bool ok = (v->is_string() && v->get<std::string>() == "2.5") ||
                    (v->is_number() && v->get<double>() == 2.5);
    if (!ok)
      f.fail("version", "value " + describe_value(*v) +
                            " is not supported (lavender implements MiniCPM-Llama3-V 2.5)");
  }
  c.llm = read_llama_config(f);
  // The resampler's attention has hidden_size / 128 heads (hard-coded upstream).
  if (c.llm.hidden_size % 128 != 0)
    f.fail("hidden_size", "value " + std::to_string(c.llm.hidden_size) +
                              " is not a multiple of 128 (the resampler uses hidden_size / 128 "
                              "attention heads)");

  const Fields vision = f.child("vision_config");
  vision.one_of("model_type", "idefics2", {"idefics2"});
  c.vision_config = read_clip_vision_config(
      vision, f.has("vision_config") ? idefics2_vision_defaults() : d.vision_config);

  c.query_num = f.positive("query_num", d.query_num);
  c.drop_vision_last_layer = f.boolean("drop_vision_last_layer", d.drop_vision_last_layer);
  if (c.drop_vision_last_layer && c.vision_config.num_hidden_layers < 2)
    f.fail("drop_vision_last_layer", "true would leave the " +
                                         std::to_string(c.vision_config.num_hidden_layers) +
                                         "-layer vision tower without layers");
  c.batch_vision_input = f.boolean("batch_vision_input", d.batch_vision_input);
  c.image_size = f.positive("image_size", d.image_size);
  c.patch_size = f.positive("patch_size", d.patch_size);
  // Pixel values arrive as rows of patch_size-wide patches that the tower's stride-patch_size
  // convolution must cut at the same places.
  if (c.patch_size != c.vision_config.patch_size)
    f.fail("patch_size", "value " + std::to_string(c.patch_size) +
                             " differs from vision_config.patch_size " +
                             std::to_string(c.vision_config.patch_size));
  c.slice_mode = f.boolean("slice_mode", d.slice_mode);
  c.mm_use_im_start_end = f.boolean("mm_use_im_start_end", d.mm_use_im_start_end);
  if (!c.mm_use_im_start_end)
    f.fail("mm_use_im_start_end", "false is not supported (image bounds come from <image> tokens)");

  const Fields slice = f.child("slice_config");
  slice.one_of("model_type", "minicpmv", {"minicpmv"});
  c.slice_config.max_slice_nums = slice.positive("max_slice_nums", d.slice_config.max_slice_nums);
  c.slice_config.patch_size = slice.positive("patch_size", d.slice_config.patch_size);
  c.slice_config.scale_resolution =
      slice.positive("scale_resolution", d.slice_config.scale_resolution);
  return c;
}

MiniCpmVConfig load_minicpmv_config(const std::string& path) {
  return parse_minicpmv_config(read_json_file(path), path);
}

}  // namespace lavender::io::config
