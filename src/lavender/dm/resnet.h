// diffusers' ResnetBlock2D, Downsample2D and Upsample2D, shared by the UNet and the VAE. Module
// keys match diffusers: norm1, conv1, time_emb_proj, norm2, conv2, conv_shortcut; conv.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <string>

namespace lavender::dm {

struct ResnetOptions {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t temb_channels = 0;  // 0: no time embedding (the VAE)
  int64_t groups = 32;
  double eps = 1e-6;
  std::string act = "silu";
  // "default": add the projected time embedding before norm2; "scale_shift": norm2(h)·(1+s)+b.
  std::string time_embedding_norm = "default";
  double output_scale_factor = 1.0;
  double dropout = 0.0;
};

// out = (shortcut(x) + conv2(drop(act(norm2(conv1(act(norm1(x))) + temb))))) / output_scale.
class ResnetBlock2DImpl : public torch::nn::Module {
 public:
  explicit ResnetBlock2DImpl(const ResnetOptions& o);
  // `temb`: [B, temb_channels] before the block's own activation, or undefined for the VAE.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& temb);

  torch::nn::GroupNorm norm1{nullptr}, norm2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv_shortcut{nullptr};
  torch::nn::Linear time_emb_proj{nullptr};

 private:
  ResnetOptions o_;
};
TORCH_MODULE(ResnetBlock2D);

// Stride-2 3×3 conv. diffusers pads symmetrically by `padding`, except that padding 0 (the VAE)
// means an asymmetric zero pad of one on the right and bottom.
class Downsample2DImpl : public torch::nn::Module {
 public:
  Downsample2DImpl(int64_t channels, int64_t padding);
  at::Tensor forward(const at::Tensor& x);
  // Output side length for an input side of `size`.
  static int64_t output_size(int64_t size, int64_t padding);

  torch::nn::Conv2d conv{nullptr};

 private:
  int64_t padding_;
};
TORCH_MODULE(Downsample2D);

// Nearest-neighbour ×2 (or to `size` when the UNet must match an odd skip connection), 3×3 conv.
class Upsample2DImpl : public torch::nn::Module {
 public:
  explicit Upsample2DImpl(int64_t channels);
  // `size`: {height, width}, or empty for ×2.
  at::Tensor forward(const at::Tensor& x, at::IntArrayRef size = {});

  torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(Upsample2D);

}  // namespace lavender::dm
