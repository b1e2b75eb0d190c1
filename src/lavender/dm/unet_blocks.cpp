#include "lavender/dm/unet_blocks.h"

#include <torch/torch.h>

#include "lavender/util/error.h"

namespace lavender::dm {
namespace {

ResnetBlock2D resnet(const UNetBlockOptions& o, int64_t in, int64_t out) {
  ResnetOptions r = o.resnet;
  r.in_channels = in, r.out_channels = out;
  return ResnetBlock2D(r);
}

Transformer2DModel transformer(const UNetBlockOptions& o, int64_t channels, int64_t index) {
  TransformerOptions t = o.transformer;
  t.channels = channels;
  return Transformer2DModel(t, o.name + ".attentions." + std::to_string(index));
}

at::Tensor attend(torch::nn::ModuleList attentions, size_t i, const at::Tensor& x,
                  const at::Tensor& context, CrossAttentionCapture* capture) {
  if (!attentions || attentions->size() == 0) return x;
  return attentions[i]->as<Transformer2DModel>()->forward(x, context, capture);
}

}  // namespace

std::vector<std::string> cross_attention_names(torch::nn::ModuleList attentions) {
  std::vector<std::string> names;
  if (!attentions) return names;
  for (const auto& m : *attentions)
    for (auto& n : m->as<Transformer2DModel>()->cross_attention_names()) names.push_back(n);
  return names;
}

UNetDownBlockImpl::UNetDownBlockImpl(const UNetBlockOptions& o) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  if (o.cross_attention) attentions = register_module("attentions", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.layers; ++i) {
    resnets->push_back(resnet(o, i == 0 ? o.in_channels : o.out_channels, o.out_channels));
    if (o.cross_attention) attentions->push_back(transformer(o, o.out_channels, i));
  }
  if (o.resample) {
    downsamplers = register_module(
        "downsamplers", torch::nn::ModuleList(Downsample2D(o.out_channels, o.downsample_padding)));
  }
}

at::Tensor UNetDownBlockImpl::forward(at::Tensor x, const at::Tensor& temb,
                                      const at::Tensor& context, CrossAttentionCapture* capture,
                                      std::vector<at::Tensor>& skips) {
  for (size_t i = 0; i < resnets->size(); ++i) {
    x = resnets[i]->as<ResnetBlock2D>()->forward(x, temb);
    x = attend(attentions, i, x, context, capture);
    skips.push_back(x);
  }
  if (downsamplers) {
    x = downsamplers[0]->as<Downsample2D>()->forward(x);
    skips.push_back(x);
  }
  return x;
}

UNetMidBlockImpl::UNetMidBlockImpl(const UNetBlockOptions& o) {
  resnets =
      register_module("resnets", torch::nn::ModuleList(resnet(o, o.in_channels, o.in_channels)));
  if (o.cross_attention) {
    attentions =
        register_module("attentions", torch::nn::ModuleList(transformer(o, o.in_channels, 0)));
    resnets->push_back(resnet(o, o.in_channels, o.in_channels));
  }
}

at::Tensor UNetMidBlockImpl::forward(at::Tensor x, const at::Tensor& temb,
                                     const at::Tensor& context, CrossAttentionCapture* capture) {
  x = resnets[0]->as<ResnetBlock2D>()->forward(x, temb);
  for (size_t i = 1; i < resnets->size(); ++i) {
    x = attend(attentions, i - 1, x, context, capture);
    x = resnets[i]->as<ResnetBlock2D>()->forward(x, temb);
  }
  return x;
}

UNetUpBlockImpl::UNetUpBlockImpl(const UNetBlockOptions& o) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  if (o.cross_attention) attentions = register_module("attentions", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.layers; ++i) {
    // The last resnet takes the skip from the level above (in_channels), the others this level's.
    const int64_t skip = i == o.layers - 1 ? o.in_channels : o.out_channels;
    const int64_t in = i == 0 ? o.prev_output_channels : o.out_channels;
    resnets->push_back(resnet(o, in + skip, o.out_channels));
    if (o.cross_attention) attentions->push_back(transformer(o, o.out_channels, i));
  }
  if (o.resample)
    upsamplers = register_module("upsamplers", torch::nn::ModuleList(Upsample2D(o.out_channels)));
}

at::Tensor UNetUpBlockImpl::forward(at::Tensor x, const at::Tensor& temb, const at::Tensor& context,
                                    CrossAttentionCapture* capture, std::vector<at::Tensor>& skips,
                                    bool match_next_skip) {
  for (size_t i = 0; i < resnets->size(); ++i) {
    if (skips.empty()) throw Error("UNet up block: ran out of skip connections");
    x = torch::cat({x, skips.back()}, 1);
    skips.pop_back();
    x = resnets[i]->as<ResnetBlock2D>()->forward(x, temb);
    x = attend(attentions, i, x, context, capture);
  }
  if (upsamplers) {
    at::IntArrayRef size;
    if (match_next_skip && !skips.empty()) size = skips.back().sizes().slice(2);
    x = upsamplers[0]->as<Upsample2D>()->forward(x, size);
  }
  return x;
}

}  // namespace lavender::dm
