#include "lavender/dm/vae.h"

#include <torch/torch.h>

#include "lavender/io/load_state_dict.h"
#include "lavender/nn/init_guard.h"
#include "lavender/util/error.h"

namespace lavender::dm {
namespace {

constexpr double kEps = 1e-6;  // diffusers' VAE norms all use 1e-6

torch::nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).padding((kernel - 1) / 2));
}

torch::nn::GroupNorm group_norm(int64_t groups, int64_t channels) {
  return torch::nn::GroupNorm(torch::nn::GroupNormOptions(groups, channels).eps(kEps));
}

ResnetBlock2D resnet(int64_t in, int64_t out, int64_t groups, const std::string& act) {
  ResnetOptions o;
  o.in_channels = in, o.out_channels = out, o.groups = groups, o.eps = kEps, o.act = act;
  return ResnetBlock2D(o);
}

void check_supported(const io::config::AutoencoderKLConfig& c, const std::string& source) {
  // The encoder and decoder mirror each other block for block.
  if (c.down_block_types.size() != c.block_out_channels.size() ||
      c.up_block_types.size() != c.block_out_channels.size())
    throw Error(source +
                ": \"down_block_types\"/\"up_block_types\" need one entry per "
                "block_out_channels value");
}

}  // namespace

VaeAttentionImpl::VaeAttentionImpl(int64_t channels, int64_t groups)
    : AttentionImpl(AttentionOptions{channels, 0, 1, channels, /*qkv_bias=*/true, false}) {
  group_norm = register_module("group_norm", dm::group_norm(groups, channels));
}

at::Tensor VaeAttentionImpl::forward(const at::Tensor& x) {
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  at::Tensor tokens = group_norm(x).view({b, c, h * w}).transpose(1, 2);
  at::Tensor y = AttentionImpl::forward(tokens, at::Tensor());
  return x + y.transpose(1, 2).view({b, c, h, w});
}

VaeMidBlockImpl::VaeMidBlockImpl(int64_t channels, int64_t groups, const std::string& act,
                                 bool attention) {
  resnets =
      register_module("resnets", torch::nn::ModuleList(resnet(channels, channels, groups, act),
                                                       resnet(channels, channels, groups, act)));
  if (attention)
    attentions =
        register_module("attentions", torch::nn::ModuleList(VaeAttention(channels, groups)));
}

at::Tensor VaeMidBlockImpl::forward(at::Tensor x) {
  x = resnets[0]->as<ResnetBlock2D>()->forward(x, at::Tensor());
  if (attentions) x = attentions[0]->as<VaeAttention>()->forward(x);
  return resnets[1]->as<ResnetBlock2D>()->forward(x, at::Tensor());
}

VaeBlockImpl::VaeBlockImpl(int64_t in, int64_t out, int64_t layers, int64_t groups,
                           const std::string& act, Resample resample) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  for (int64_t i = 0; i < layers; ++i)
    resnets->push_back(resnet(i == 0 ? in : out, out, groups, act));
  // The encoder downsamples with diffusers' padding 0: an asymmetric (0, 1, 0, 1) zero pad.
  if (resample == Resample::down)
    samplers = register_module("downsamplers", torch::nn::ModuleList(Downsample2D(out, 0)));
  if (resample == Resample::up)
    samplers = register_module("upsamplers", torch::nn::ModuleList(Upsample2D(out)));
}

at::Tensor VaeBlockImpl::forward(at::Tensor x) {
  for (const auto& m : *resnets) x = m->as<ResnetBlock2D>()->forward(x, at::Tensor());
  if (!samplers) return x;
  if (auto* down = samplers[0]->as<Downsample2D>()) return down->forward(x);
  return samplers[0]->as<Upsample2D>()->forward(x);
}

VaeEncoderImpl::VaeEncoderImpl(const io::config::AutoencoderKLConfig& c) {
  const auto& boc = c.block_out_channels;
  const int64_t g = c.norm_num_groups;
  conv_in = register_module("conv_in", conv(c.in_channels, boc[0], 3));
  down_blocks = register_module("down_blocks", torch::nn::ModuleList());
  for (size_t i = 0; i < boc.size(); ++i) {
    const bool last = i + 1 == boc.size();
    down_blocks->push_back(
        VaeBlock(i == 0 ? boc[0] : boc[i - 1], boc[i], c.layers_per_block, g, c.act_fn,
                 last ? VaeBlockImpl::Resample::none : VaeBlockImpl::Resample::down));
  }
  mid_block =
      register_module("mid_block", VaeMidBlock(boc.back(), g, c.act_fn, c.mid_block_add_attention));
  conv_norm_out = register_module("conv_norm_out", group_norm(g, boc.back()));
  conv_out = register_module("conv_out", conv(boc.back(), 2 * c.latent_channels, 3));
}

at::Tensor VaeEncoderImpl::forward(const at::Tensor& image) {
  at::Tensor x = conv_in(image);
  for (const auto& m : *down_blocks) x = m->as<VaeBlock>()->forward(x);
  // diffusers' Encoder/Decoder use SiLU here whatever act_fn says.
  return conv_out(torch::silu(conv_norm_out(mid_block(x))));
}

VaeDecoderImpl::VaeDecoderImpl(const io::config::AutoencoderKLConfig& c) {
  const auto& boc = c.block_out_channels;
  const int64_t g = c.norm_num_groups;
  const size_t n = boc.size();
  conv_in = register_module("conv_in", conv(c.latent_channels, boc.back(), 3));
  mid_block =
      register_module("mid_block", VaeMidBlock(boc.back(), g, c.act_fn, c.mid_block_add_attention));
  up_blocks = register_module("up_blocks", torch::nn::ModuleList());
  for (size_t i = 0; i < n; ++i) {
    const size_t level = n - 1 - i;
    const bool last = i + 1 == n;
    up_blocks->push_back(
        VaeBlock(boc[std::min(level + 1, n - 1)], boc[level], c.layers_per_block + 1, g, c.act_fn,
                 last ? VaeBlockImpl::Resample::none : VaeBlockImpl::Resample::up));
  }
  conv_norm_out = register_module("conv_norm_out", group_norm(g, boc[0]));
  conv_out = register_module("conv_out", conv(boc[0], c.out_channels, 3));
}

at::Tensor VaeDecoderImpl::forward(const at::Tensor& z) {
  at::Tensor x = mid_block(conv_in(z));
  for (const auto& m : *up_blocks) x = m->as<VaeBlock>()->forward(x);
  return conv_out(torch::silu(conv_norm_out(x)));
}

AutoencoderKLImpl::AutoencoderKLImpl(const io::config::AutoencoderKLConfig& c) : config_(c) {
  check_supported(c, "AutoencoderKL config");
  encoder = register_module("encoder", VaeEncoder(c));
  decoder = register_module("decoder", VaeDecoder(c));
  const int64_t z = c.latent_channels;
  if (c.use_quant_conv) quant_conv = register_module("quant_conv", conv(2 * z, 2 * z, 1));
  if (c.use_post_quant_conv) post_quant_conv = register_module("post_quant_conv", conv(z, z, 1));
}

LatentDistribution AutoencoderKLImpl::encode(const at::Tensor& image) {
  if (image.dim() != 4 || image.size(1) != config_.in_channels)
    throw Error("VAE: image must be [batch, " + std::to_string(config_.in_channels) +
                ", height, width]");
  at::Tensor moments = encoder(image);
  if (quant_conv) moments = quant_conv(moments);
  auto parts = moments.chunk(2, 1);
  LatentDistribution d;
  d.mean = parts[0];
  d.logvar = parts[1].clamp(-30.0, 20.0);
  d.std = (d.logvar * 0.5).exp();
  return d;
}

at::Tensor AutoencoderKLImpl::decode(const at::Tensor& z) {
  if (z.dim() != 4 || z.size(1) != config_.latent_channels)
    throw Error("VAE: latents must be [batch, " + std::to_string(config_.latent_channels) +
                ", height, width]");
  return decoder(post_quant_conv ? post_quant_conv(z) : z);
}

namespace {
void check_plain_scaling(const io::config::AutoencoderKLConfig& c) {
  if (c.latents_mean || c.latents_std)
    throw Error("VAE: \"latents_mean\"/\"latents_std\" normalisation is not supported");
}
}  // namespace

at::Tensor latents_from_image(AutoencoderKLImpl& vae, const at::Tensor& image,
                              const at::Tensor& noise) {
  const auto& c = vae.config();
  check_plain_scaling(c);
  LatentDistribution d = vae.encode(image);
  at::Tensor z = noise.defined() ? d.sample(noise) : d.mean;
  if (c.shift_factor) z = z - *c.shift_factor;
  return z * c.scaling_factor;
}

at::Tensor image_from_latents(AutoencoderKLImpl& vae, const at::Tensor& latents) {
  const auto& c = vae.config();
  check_plain_scaling(c);
  at::Tensor z = latents / c.scaling_factor;
  if (c.shift_factor) z = z + *c.shift_factor;
  return vae.decode(z);
}

AutoencoderKL load_vae(const std::string& folder, at::ScalarType dtype, at::Device device) {
  const std::string path = folder + "/config.json";
  auto config = io::config::load_autoencoder_kl_config(path);
  check_supported(config, path);
  AutoencoderKL model = [&] {
    nn::SkipInitGuard skip_init;  // every weight is about to be loaded
    return AutoencoderKL(config);
  }();
  io::load_model_weights(*model, folder, {}, dtype, device);
  return model;
}

}  // namespace lavender::dm
