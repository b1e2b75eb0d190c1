// diffusers' UNet2DConditionModel for Stable Diffusion 1.x / 2.x: time embedding, conv_in, down
// blocks with skip connections, mid block, up blocks, GroupNorm → act → conv_out. Module keys
// match the checkpoint (`down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_q.weight`).
//
// The teacher reads cross-attention probabilities: pass a CrossAttentionCapture naming the attn2
// layers wanted (see cross_attention_layers()); only those materialise probabilities, and the
// predicted noise is the same with or without a capture.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>

#include <map>
#include <string>
#include <vector>

#include "lavender/dm/timestep_embedding.h"
#include "lavender/dm/transformer_2d.h"
#include "lavender/dm/unet_blocks.h"
#include "lavender/io/config/diffusers.h"

namespace lavender::dm {

// One cross-attention layer: its path, its heads, and the grid of its queries (H·W = rows of
// its probabilities) for the latent size asked about.
struct CrossAttentionLayer {
  std::string name;  // "up_blocks.1.attentions.2.transformer_blocks.0.attn2"
  int64_t heads = 0;
  int64_t level = 0;  // 0 at latent resolution, +1 per downsample
  int64_t height = 0, width = 0;
};

struct UNetOutput {
  at::Tensor sample;                                  // [B, out_channels, H, W]
  std::map<std::string, at::Tensor> cross_attention;  // name → [B, heads, H·W, text tokens]
};

class UNet2DConditionModelImpl : public torch::nn::Module {
 public:
  // Throws lavender::Error naming the config field of any feature not implemented (class and
  // addition embeddings, encoder_hid_dim projections, dual or gated attention, time_cond_proj_dim,
  // fourier time embeddings, norm_num_groups null).
  explicit UNet2DConditionModelImpl(const io::config::UNet2DConditionConfig& c);

  // sample [B, in, H, W]; timesteps: a scalar, [1] or [B]; context [B, T, cross_attention_dim].
  // `capture` (optional): layers to record; an unknown name is an error. Its `probs` are
  // replaced by this call's.
  at::Tensor forward(const at::Tensor& sample, const at::Tensor& timesteps,
                     const at::Tensor& context, CrossAttentionCapture* capture = nullptr);
  // The same, naming the layers to capture (empty: none).
  UNetOutput forward_capturing(const at::Tensor& sample, const at::Tensor& timesteps,
                               const at::Tensor& context, const std::vector<std::string>& layers);

  // Every attn2 layer in forward order, with its query grid for latents of this size.
  std::vector<CrossAttentionLayer> cross_attention_layers(int64_t latent_height,
                                                          int64_t latent_width) const;
  const io::config::UNet2DConditionConfig& config() const { return config_; }

  torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  TimestepEmbedding time_embedding{nullptr};
  torch::nn::ModuleList down_blocks{nullptr}, up_blocks{nullptr};
  UNetMidBlock mid_block{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};

 private:
  io::config::UNet2DConditionConfig config_;
  std::vector<CrossAttentionLayer> layers_;  // heights/widths unset
};
TORCH_MODULE(UNet2DConditionModel);

// Rejects config features the model does not implement (see the constructor).
void check_unet_supported(const io::config::UNet2DConditionConfig& c, const std::string& source);

// Builds the model from a diffusers folder (config.json + diffusion_pytorch_model.safetensors),
// loads its weights strictly and sets eval mode.
// Each weight is put straight into `dtype` on `device` (io::LoadOptions::place), adopted from
// the file's mapping when it already is; the same for load_vae and load_clip_text_model.
UNet2DConditionModel load_unet(const std::string& folder, at::ScalarType dtype = at::kFloat,
                               at::Device device = at::kCPU);

}  // namespace lavender::dm
