// The UNet's down, mid and up blocks (diffusers DownBlock2D / CrossAttnDownBlock2D,
// UNetMidBlock2DCrossAttn / UNetMidBlock2D, UpBlock2D / CrossAttnUpBlock2D). One class per
// position: the cross-attention variant is the plain one plus `attentions.N` after each resnet.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include <string>
#include <vector>

#include "lavender/dm/resnet.h"
#include "lavender/dm/transformer_2d.h"

namespace lavender::dm {

struct UNetBlockOptions {
  std::string name;  // diffusers path: "down_blocks.1", "mid_block", "up_blocks.0"
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t prev_output_channels = 0;  // up blocks: channels arriving from the block below
  int64_t layers = 1;                // resnets (up blocks: layers_per_block + 1)
  bool cross_attention = false;
  TransformerOptions transformer;  // channels and layers are set per block
  bool resample = false;           // down blocks: Downsample2D; up blocks: Upsample2D
  int64_t downsample_padding = 1;
  ResnetOptions resnet;  // temb, groups, eps, act, time norm, dropout, output scale
};

class UNetDownBlockImpl : public torch::nn::Module {
 public:
  explicit UNetDownBlockImpl(const UNetBlockOptions& o);
  // Appends every resnet (+attention) output and the downsampled output to `skips`.
  at::Tensor forward(at::Tensor x, const at::Tensor& temb, const at::Tensor& context,
                     CrossAttentionCapture* capture, std::vector<at::Tensor>& skips);

  torch::nn::ModuleList resnets{nullptr}, attentions{nullptr}, downsamplers{nullptr};
};
TORCH_MODULE(UNetDownBlock);

class UNetMidBlockImpl : public torch::nn::Module {
 public:
  // resnets.0, then (attentions.0, resnets.1) when cross_attention (diffusers' num_layers = 1).
  explicit UNetMidBlockImpl(const UNetBlockOptions& o);
  at::Tensor forward(at::Tensor x, const at::Tensor& temb, const at::Tensor& context,
                     CrossAttentionCapture* capture);

  torch::nn::ModuleList resnets{nullptr}, attentions{nullptr};
};
TORCH_MODULE(UNetMidBlock);

class UNetUpBlockImpl : public torch::nn::Module {
 public:
  explicit UNetUpBlockImpl(const UNetBlockOptions& o);
  // Pops one skip per resnet from the back of `skips` (concatenated on channels). The upsampler
  // doubles the size, or with `match_next_skip` takes the size of the skip now at the back (the
  // UNet asks for that when the latent size is not a multiple of 2^upsamplers).
  at::Tensor forward(at::Tensor x, const at::Tensor& temb, const at::Tensor& context,
                     CrossAttentionCapture* capture, std::vector<at::Tensor>& skips,
                     bool match_next_skip);

  torch::nn::ModuleList resnets{nullptr}, attentions{nullptr}, upsamplers{nullptr};
};
TORCH_MODULE(UNetUpBlock);

// The cross-attention paths of a block's attentions (empty for blocks without), in forward order.
std::vector<std::string> cross_attention_names(torch::nn::ModuleList attentions);

}  // namespace lavender::dm
