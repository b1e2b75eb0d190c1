// Configs of the small diffusion models `lavender train-dm` trains from scratch, written as the
// diffusers / transformers JSON that load_sd_pipeline reads back (so a trained folder is an
// ordinary diffusers pipeline folder, minus the VAE in pixel space). Torch-free.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <vector>

namespace lavender::scratch {

struct SmallDmSpec {
  int64_t image_size = 32;                     // the UNet's sample_size (pixel space)
  // block_out_channels, one level per entry. The full-resolution level dominates the step's cost
  // (its convolutions scale with channels² at S² pixels): 16 there trains about twice as fast as
  // 32 for the same steps (measured on this 2-core machine).
  std::vector<int64_t> channels = {16, 32, 32};
  // The first level (0: full resolution) whose blocks carry cross-attention; the levels above it
  // are plain ResNet blocks, the mid block has none. Attention at full resolution doubles the
  // step's cost (1024 query positions per image at 32×32), and the prototype of this world found
  // the 16×16 maps the useful ones (its 8×8 maps were not).
  int64_t first_attention_level = 1;
  // Self-attention in the attention blocks as well (diffusers' default). Off, they attend only to
  // the text (only_cross_attention), which is what the maps are drawn from and costs ~25 % less.
  bool self_attention = false;
  int64_t layers_per_block = 1;
  int64_t heads = 2;
  int64_t norm_groups = 8;
  // Text encoder.
  int64_t text_hidden = 64;
  int64_t text_layers = 2;
  int64_t text_heads = 4;
  // max_position_embeddings; 0: fitted to the longest caption (its tokens + 2, a multiple of 8).
  int64_t text_positions = 0;
};

// unet/config.json (UNet2DConditionModel, in/out 3 channels).
nlohmann::json small_unet_config(const SmallDmSpec& spec);
// text_encoder/config.json (CLIPTextModel) for a tokenizer of `vocab_size` ids.
nlohmann::json small_text_config(const SmallDmSpec& spec, int64_t vocab_size, int64_t bos_id,
                                 int64_t eos_id, int64_t pad_id);
// scheduler/scheduler_config.json: DDPM's linear betas 1e-4..0.02 over 1000 steps, the
// schedule pixel-space DDPM was trained with (SD's scaled_linear is tuned for VAE latents).
nlohmann::json small_scheduler_config();
// model_index.json naming the parts as diffusers does (vae omitted in pixel space).
nlohmann::json small_model_index();

}  // namespace lavender::scratch
