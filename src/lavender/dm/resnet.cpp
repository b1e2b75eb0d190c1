#include "lavender/dm/resnet.h"

#include <torch/torch.h>

#include "lavender/nn/activations.h"
#include "lavender/util/error.h"

namespace lavender::dm {
namespace {

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t pad) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(pad));
}

torch::nn::GroupNorm group_norm(int64_t groups, int64_t channels, double eps) {
  return torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups, channels).eps(eps));
}

}  // namespace

ResnetBlock2DImpl::ResnetBlock2DImpl(const ResnetOptions& o) : o_(o) {
  nn::check_activation(o.act);
  if (o.time_embedding_norm != "default" && o.time_embedding_norm != "scale_shift")
    throw Error("ResnetBlock2D: time embedding norm \"" + o.time_embedding_norm +
                "\" is not implemented");
  norm1 = register_module("norm1", group_norm(o.groups, o.in_channels, o.eps));
  conv1 = register_module("conv1", conv(o.in_channels, o.out_channels, 3, 1, 1));
  if (o.temb_channels > 0) {
    // scale_shift projects to a scale and a shift per channel.
    const int64_t proj =
        o.time_embedding_norm == "scale_shift" ? 2 * o.out_channels : o.out_channels;
    time_emb_proj = register_module("time_emb_proj", torch::nn::Linear(o.temb_channels, proj));
  }
  norm2 = register_module("norm2", group_norm(o.groups, o.out_channels, o.eps));
  conv2 = register_module("conv2", conv(o.out_channels, o.out_channels, 3, 1, 1));
  if (o.in_channels != o.out_channels)
    conv_shortcut = register_module("conv_shortcut", conv(o.in_channels, o.out_channels, 1, 1, 0));
}

at::Tensor ResnetBlock2DImpl::forward(const at::Tensor& x, const at::Tensor& temb) {
  at::Tensor h = conv1(nn::activate(o_.act, norm1(x)));
  at::Tensor t;
  if (time_emb_proj && temb.defined())
    t = time_emb_proj(nn::activate(o_.act, temb)).unsqueeze(-1).unsqueeze(-1);
  if (o_.time_embedding_norm == "scale_shift") {
    if (!t.defined()) throw Error("ResnetBlock2D: scale_shift needs a time embedding");
    auto scale_shift = t.chunk(2, 1);
    h = norm2(h) * (scale_shift[0] + 1) + scale_shift[1];
  } else {
    h = norm2(t.defined() ? h + t : h);
  }
  h = nn::activate(o_.act, h);
  if (o_.dropout > 0) h = torch::dropout(h, o_.dropout, is_training());
  h = conv2(h);
  at::Tensor out = (conv_shortcut ? conv_shortcut(x) : x) + h;
  return o_.output_scale_factor == 1.0 ? out : out / o_.output_scale_factor;
}

Downsample2DImpl::Downsample2DImpl(int64_t channels, int64_t padding) : padding_(padding) {
  conv = register_module("conv", dm::conv(channels, channels, 3, 2, padding));
}

at::Tensor Downsample2DImpl::forward(const at::Tensor& x) {
  return conv(padding_ == 0 ? torch::constant_pad_nd(x, {0, 1, 0, 1}) : x);
}

int64_t Downsample2DImpl::output_size(int64_t size, int64_t padding) {
  const int64_t padded = padding == 0 ? size + 1 : size + 2 * padding;
  return (padded - 3) / 2 + 1;
}

Upsample2DImpl::Upsample2DImpl(int64_t channels) {
  conv = register_module("conv", dm::conv(channels, channels, 3, 1, 1));
}

at::Tensor Upsample2DImpl::forward(const at::Tensor& x, at::IntArrayRef size) {
  auto options = torch::nn::functional::InterpolateFuncOptions().mode(torch::kNearest);
  if (size.empty())
    options.scale_factor(std::vector<double>{2.0, 2.0});
  else
    options.size(std::vector<int64_t>(size.begin(), size.end()));
  return conv(torch::nn::functional::interpolate(x, options));
}

}  // namespace lavender::dm
