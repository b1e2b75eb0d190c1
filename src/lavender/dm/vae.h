// diffusers' AutoencoderKL (the Stable Diffusion VAE): Encoder → quant_conv → diagonal Gaussian
// over latents; post_quant_conv → Decoder. Module keys match the checkpoint
// (`encoder.down_blocks.0.resnets.0.norm1.weight`, `decoder.mid_block.attentions.0.to_q.weight`,
// `quant_conv.weight`, ...). Runs in the dtype of its parameters; diffusers' `force_upcast` (keep
// the VAE in fp32 when the rest runs in fp16) is the caller's choice.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>

#include <string>

#include "lavender/dm/resnet.h"
#include "lavender/dm/transformer_2d.h"
#include "lavender/io/config/diffusers.h"

namespace lavender::dm {

// The mid block's single-head self-attention over all channels: group_norm, to_q/to_k/to_v (with
// biases), to_out.0, residual.
class VaeAttentionImpl : public AttentionImpl {
 public:
  VaeAttentionImpl(int64_t channels, int64_t groups);
  at::Tensor forward(const at::Tensor& x);  // [B, C, H, W]

  torch::nn::GroupNorm group_norm{nullptr};
};
TORCH_MODULE(VaeAttention);

// resnets.0, attentions.0 (when mid_block_add_attention), resnets.1; no time embedding.
class VaeMidBlockImpl : public torch::nn::Module {
 public:
  VaeMidBlockImpl(int64_t channels, int64_t groups, const std::string& act, bool attention);
  at::Tensor forward(at::Tensor x);

  torch::nn::ModuleList resnets{nullptr}, attentions{nullptr};
};
TORCH_MODULE(VaeMidBlock);

// DownEncoderBlock2D / UpDecoderBlock2D: resnets, then an optional down- or upsampler.
class VaeBlockImpl : public torch::nn::Module {
 public:
  enum class Resample { none, down, up };
  VaeBlockImpl(int64_t in, int64_t out, int64_t layers, int64_t groups, const std::string& act,
               Resample resample);
  at::Tensor forward(at::Tensor x);

  torch::nn::ModuleList resnets{nullptr}, samplers{nullptr};
};
TORCH_MODULE(VaeBlock);

class VaeEncoderImpl : public torch::nn::Module {
 public:
  explicit VaeEncoderImpl(const io::config::AutoencoderKLConfig& c);
  at::Tensor forward(const at::Tensor& image);  // → [B, 2·latent_channels, H/f, W/f]

  torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList down_blocks{nullptr};
  VaeMidBlock mid_block{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};
};
TORCH_MODULE(VaeEncoder);

class VaeDecoderImpl : public torch::nn::Module {
 public:
  explicit VaeDecoderImpl(const io::config::AutoencoderKLConfig& c);
  at::Tensor forward(const at::Tensor& z);

  torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  VaeMidBlock mid_block{nullptr};
  torch::nn::ModuleList up_blocks{nullptr};
  torch::nn::GroupNorm conv_norm_out{nullptr};
};
TORCH_MODULE(VaeDecoder);

// diffusers' DiagonalGaussianDistribution: logvar clamped to [-30, 20], std = exp(logvar / 2).
struct LatentDistribution {
  at::Tensor mean, logvar, std;
  // mean + std·noise (noise ~ N(0, 1), shaped like mean).
  at::Tensor sample(const at::Tensor& noise) const { return mean + std * noise; }
};

class AutoencoderKLImpl : public torch::nn::Module {
 public:
  explicit AutoencoderKLImpl(const io::config::AutoencoderKLConfig& c);
  // image: [B, in_channels, H, W] in [-1, 1].
  LatentDistribution encode(const at::Tensor& image);
  // z: unscaled latents (the distribution's space) → image in about [-1, 1].
  at::Tensor decode(const at::Tensor& z);
  const io::config::AutoencoderKLConfig& config() const { return config_; }

  VaeEncoder encoder{nullptr};
  VaeDecoder decoder{nullptr};
  torch::nn::Conv2d quant_conv{nullptr}, post_quant_conv{nullptr};  // null when disabled

 private:
  io::config::AutoencoderKLConfig config_;
};
TORCH_MODULE(AutoencoderKL);

// The latents the UNet sees: (z − shift_factor) · scaling_factor, with z the posterior mean, or
// a posterior sample when `noise` is given (diffusers' latent_dist.sample()). Configs carrying
// latents_mean / latents_std (used only by other pipelines) are rejected.
at::Tensor latents_from_image(AutoencoderKLImpl& vae, const at::Tensor& image,
                              const at::Tensor& noise = at::Tensor());
// The inverse: decode(latents / scaling_factor + shift_factor).
at::Tensor image_from_latents(AutoencoderKLImpl& vae, const at::Tensor& latents);

// Builds the model from a diffusers folder (config.json + diffusion_pytorch_model.safetensors),
// loads its weights strictly and sets eval mode.
AutoencoderKL load_vae(const std::string& folder, at::ScalarType dtype = at::kFloat,
                       at::Device device = at::kCPU);

}  // namespace lavender::dm
