#include "lavender/scratch/small_dm_config.h"

#include <string>

namespace lavender::scratch {

nlohmann::json small_unet_config(const SmallDmSpec& s) {
  const auto n = static_cast<int64_t>(s.channels.size());
  std::vector<std::string> down, up;
  std::vector<bool> only_cross;
  for (int64_t i = 0; i < n; ++i) {
    const bool attends = i >= s.first_attention_level;
    down.push_back(attends ? "CrossAttnDownBlock2D" : "DownBlock2D");
    only_cross.push_back(attends && !s.self_attention);
  }
  for (int64_t i = n - 1; i >= 0; --i)
    up.push_back(i >= s.first_attention_level ? "CrossAttnUpBlock2D" : "UpBlock2D");
  return {{"_class_name", "UNet2DConditionModel"},
          {"_diffusers_version", "0.30.0"},
          {"act_fn", "silu"},
          {"attention_head_dim", s.heads},  // diffusers reads this as the number of heads
          {"block_out_channels", s.channels},
          {"center_input_sample", false},
          {"cross_attention_dim", s.text_hidden},
          {"down_block_types", down},
          {"downsample_padding", 1},
          {"dropout", 0.0},
          {"flip_sin_to_cos", true},
          {"freq_shift", 0},
          {"in_channels", 3},
          {"layers_per_block", s.layers_per_block},
          {"mid_block_scale_factor", 1},
          {"mid_block_type", "UNetMidBlock2D"},
          {"norm_eps", 1e-5},
          {"norm_num_groups", s.norm_groups},
          {"only_cross_attention", only_cross},
          {"out_channels", 3},
          {"sample_size", s.image_size},
          {"up_block_types", up},
          {"upcast_attention", false},
          {"use_linear_projection", false}};
}

nlohmann::json small_text_config(const SmallDmSpec& s, int64_t vocab_size, int64_t bos_id,
                                 int64_t eos_id, int64_t pad_id) {
  return {{"architectures", {"CLIPTextModel"}},
          {"attention_dropout", 0.0},
          {"bos_token_id", bos_id},
          {"eos_token_id", eos_id},
          {"hidden_act", "quick_gelu"},
          {"hidden_size", s.text_hidden},
          {"initializer_factor", 1.0},
          {"initializer_range", 0.02},
          {"intermediate_size", 4 * s.text_hidden},
          {"layer_norm_eps", 1e-5},
          {"max_position_embeddings", s.text_positions},
          {"model_type", "clip_text_model"},
          {"num_attention_heads", s.text_heads},
          {"num_hidden_layers", s.text_layers},
          {"pad_token_id", pad_id},
          {"projection_dim", s.text_hidden},
          {"torch_dtype", "float32"},
          {"vocab_size", vocab_size}};
}

nlohmann::json small_scheduler_config() {
  return {{"_class_name", "DDPMScheduler"},
          {"beta_end", 0.02},
          {"beta_schedule", "linear"},
          {"beta_start", 0.0001},
          {"clip_sample", true},
          {"num_train_timesteps", 1000},
          {"prediction_type", "epsilon"},
          {"steps_offset", 0},
          {"timestep_spacing", "leading"},
          {"variance_type", "fixed_small"}};
}

nlohmann::json small_model_index() {
  return {{"_class_name", "StableDiffusionPipeline"},
          {"scheduler", {"diffusers", "DDPMScheduler"}},
          {"text_encoder", {"transformers", "CLIPTextModel"}},
          {"tokenizer", {"transformers", "CLIPTokenizer"}},
          {"unet", {"diffusers", "UNet2DConditionModel"}}};
}

}  // namespace lavender::scratch
