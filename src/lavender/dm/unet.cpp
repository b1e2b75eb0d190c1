#include "lavender/dm/unet.h"

#include <torch/torch.h>

#include "lavender/io/load_state_dict.h"
#include "lavender/nn/activations.h"
#include "lavender/nn/init_guard.h"
#include "lavender/util/error.h"

namespace lavender::dm {
namespace {

using io::config::UNet2DConditionConfig;

[[noreturn]] void unsupported(const std::string& source, const std::string& field,
                              const std::string& what) {
  throw Error(source + ": \"" + field + "\": " + what + " is not supported by lavender's UNet");
}

torch::nn::Conv2d same_conv(int64_t in, int64_t out, int64_t kernel) {
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, kernel).padding((kernel - 1) / 2));
}

bool is_cross(const std::string& type) {
  return type.rfind("CrossAttn", 0) == 0;
}

}  // namespace

void check_unet_supported(const UNet2DConditionConfig& c, const std::string& source) {
  if (c.class_embed_type) unsupported(source, "class_embed_type", "a class embedding");
  if (c.num_class_embeds) unsupported(source, "num_class_embeds", "a class embedding");
  if (c.addition_embed_type) unsupported(source, "addition_embed_type", "an addition embedding");
  if (c.encoder_hid_dim) unsupported(source, "encoder_hid_dim", "an encoder projection");
  if (c.encoder_hid_dim_type) unsupported(source, "encoder_hid_dim_type", "an encoder projection");
  if (c.dual_cross_attention) unsupported(source, "dual_cross_attention", "dual cross-attention");
  if (c.attention_type != "default")
    unsupported(source, "attention_type", "\"" + c.attention_type + "\" attention");
  if (c.time_cond_proj_dim) unsupported(source, "time_cond_proj_dim", "a timestep condition");
  if (c.time_embedding_type != "positional")
    unsupported(source, "time_embedding_type", "\"" + c.time_embedding_type + "\"");
  // diffusers hands None on to its resnets' GroupNorms, which cannot take it either.
  if (!c.norm_num_groups) unsupported(source, "norm_num_groups", "null");
  // Not checked because diffusers' blocks used here ignore them too (they only configure the
  // Simple*/ResnetDownsample* blocks): resnet_skip_time_act, resnet_out_scale_factor,
  // mid_block_only_cross_attention, cross_attention_norm.
}

UNet2DConditionModelImpl::UNet2DConditionModelImpl(const UNet2DConditionConfig& c) : config_(c) {
  check_unet_supported(c, "UNet2DConditionModel config");
  const auto& boc = c.block_out_channels;
  const size_t n = boc.size();
  const int64_t temb_dim = c.time_embedding_dim.value_or(4 * boc[0]);

  conv_in = register_module("conv_in", same_conv(c.in_channels, boc[0], c.conv_in_kernel));
  time_embedding = register_module(
      "time_embedding", TimestepEmbedding(boc[0], temb_dim, c.act_fn, c.timestep_post_act));
  if (c.time_embedding_act_fn) nn::check_activation(*c.time_embedding_act_fn);

  // Settings every block shares; per-block ones are filled in below.
  UNetBlockOptions common;
  common.resnet.temb_channels = temb_dim;
  common.resnet.groups = *c.norm_num_groups;
  common.resnet.eps = c.norm_eps;
  common.resnet.act = c.act_fn;
  common.resnet.time_embedding_norm = c.resnet_time_scale_shift;
  common.resnet.dropout = c.dropout;
  common.transformer.groups = *c.norm_num_groups;
  common.transformer.use_linear_projection = c.use_linear_projection;
  common.transformer.upcast_attention = c.upcast_attention;
  common.downsample_padding = c.downsample_padding;
  auto per_block = [&](UNetBlockOptions o, size_t i, const std::string& type, std::string name) {
    o.name = std::move(name);
    o.cross_attention = is_cross(type);
    o.transformer.heads = c.num_attention_heads[i];
    o.transformer.context_dim = c.cross_attention_dim[i];
    o.transformer.layers = c.transformer_layers_per_block[i];
    o.transformer.only_cross_attention = c.only_cross_attention[i];
    return o;
  };
  auto record = [&](torch::nn::ModuleList attentions, int64_t level, int64_t heads) {
    for (auto& name : cross_attention_names(attentions))
      layers_.push_back({name, heads, level, 0, 0});
  };

  down_blocks = register_module("down_blocks", torch::nn::ModuleList());
  for (size_t i = 0; i < n; ++i) {
    auto o = per_block(common, i, c.down_block_types[i], "down_blocks." + std::to_string(i));
    o.in_channels = i == 0 ? boc[0] : boc[i - 1];
    o.out_channels = boc[i];
    o.layers = c.layers_per_block[i];
    o.resample = i + 1 < n;
    UNetDownBlock block(o);
    down_blocks->push_back(block);
    record(block->attentions, static_cast<int64_t>(i), o.transformer.heads);
  }

  if (c.mid_block_type) {
    auto o = per_block(common, n - 1, *c.mid_block_type, "mid_block");
    o.cross_attention = *c.mid_block_type == "UNetMidBlock2DCrossAttn";
    o.in_channels = o.out_channels = boc[n - 1];
    o.resnet.output_scale_factor = c.mid_block_scale_factor;
    o.transformer.only_cross_attention = false;  // diffusers does not pass it to this block
    mid_block = register_module("mid_block", UNetMidBlock(o));
    record(mid_block->attentions, static_cast<int64_t>(n - 1), o.transformer.heads);
  }

  up_blocks = register_module("up_blocks", torch::nn::ModuleList());
  for (size_t i = 0; i < n; ++i) {
    const size_t level = n - 1 - i;  // per-block settings are read reversed, as diffusers does
    auto o = per_block(common, level, c.up_block_types[i], "up_blocks." + std::to_string(i));
    o.prev_output_channels = boc[std::min(level + 1, n - 1)];
    o.out_channels = boc[level];
    o.in_channels = boc[level == 0 ? 0 : level - 1];
    o.layers = c.layers_per_block[level] + 1;
    o.resample = i + 1 < n;
    UNetUpBlock block(o);
    up_blocks->push_back(block);
    record(block->attentions, static_cast<int64_t>(level), o.transformer.heads);
  }

  conv_norm_out =
      register_module("conv_norm_out",
                      torch::nn::GroupNorm(
                          torch::nn::GroupNormOptions(*c.norm_num_groups, boc[0]).eps(c.norm_eps)));
  conv_out = register_module("conv_out", same_conv(boc[0], c.out_channels, c.conv_out_kernel));
}

at::Tensor UNet2DConditionModelImpl::forward(const at::Tensor& sample, const at::Tensor& timesteps,
                                             const at::Tensor& context,
                                             CrossAttentionCapture* capture) {
  const auto& c = config_;
  if (sample.dim() != 4 || sample.size(1) != c.in_channels)
    throw Error("UNet: sample must be [batch, " + std::to_string(c.in_channels) +
                ", height, width], got " + std::to_string(sample.dim()) + " dims");
  const int64_t b = sample.size(0);
  if (context.dim() != 3 || context.size(0) != b)
    throw Error("UNet: encoder hidden states must be [batch, tokens, dim] with the sample's batch");
  at::Tensor t = (timesteps.dim() == 0 ? timesteps.unsqueeze(0) : timesteps).to(sample.device());
  if (t.dim() != 1 || (t.size(0) != 1 && t.size(0) != b))
    throw Error("UNet: timesteps must be a scalar, [1] or [batch]");
  if (capture) {
    for (const auto& name : capture->layers) {
      bool known = false;
      for (const auto& l : layers_) known = known || l.name == name;
      if (!known) throw Error("UNet: no cross-attention layer named \"" + name + "\"");
    }
    capture->probs.clear();
  }

  at::Tensor x = c.center_input_sample ? sample * 2.0 - 1.0 : sample;
  const auto& boc = c.block_out_channels;
  at::Tensor t_emb = sinusoidal_timestep_embedding(t.expand({b}), boc[0], c.flip_sin_to_cos,
                                                   static_cast<double>(c.freq_shift));
  at::Tensor temb = time_embedding(t_emb.to(sample.scalar_type()));
  if (c.time_embedding_act_fn) temb = nn::activate(*c.time_embedding_act_fn, temb);

  x = conv_in(x);
  std::vector<at::Tensor> skips{x};
  for (const auto& m : *down_blocks)
    x = m->as<UNetDownBlock>()->forward(x, temb, context, capture, skips);
  if (mid_block) x = mid_block(x, temb, context, capture);
  // Upsampling doubles sizes unless the latent is not a multiple of 2^upsamplers; then each
  // upsampler matches the skip it will be concatenated with (diffusers' forward_upsample_size).
  const int64_t factor = int64_t{1} << (boc.size() - 1);
  const bool match = sample.size(2) % factor != 0 || sample.size(3) % factor != 0;
  for (const auto& m : *up_blocks)
    x = m->as<UNetUpBlock>()->forward(x, temb, context, capture, skips, match);
  x = nn::activate(c.act_fn, conv_norm_out(x));
  return conv_out(x);
}

UNetOutput UNet2DConditionModelImpl::forward_capturing(const at::Tensor& sample,
                                                       const at::Tensor& timesteps,
                                                       const at::Tensor& context,
                                                       const std::vector<std::string>& layers) {
  CrossAttentionCapture capture;
  capture.layers.insert(layers.begin(), layers.end());
  UNetOutput out;
  out.sample = forward(sample, timesteps, context, layers.empty() ? nullptr : &capture);
  out.cross_attention = std::move(capture.probs);
  return out;
}

std::vector<CrossAttentionLayer> UNet2DConditionModelImpl::cross_attention_layers(
    int64_t latent_height, int64_t latent_width) const {
  // Sizes per level: each down block but the last halves them (with its padding rule).
  std::vector<std::pair<int64_t, int64_t>> sizes{{latent_height, latent_width}};
  for (size_t i = 1; i < config_.block_out_channels.size(); ++i) {
    auto [h, w] = sizes.back();
    const int64_t p = config_.downsample_padding;
    sizes.emplace_back(Downsample2DImpl::output_size(h, p), Downsample2DImpl::output_size(w, p));
  }
  std::vector<CrossAttentionLayer> out = layers_;
  for (auto& l : out) std::tie(l.height, l.width) = sizes[static_cast<size_t>(l.level)];
  return out;
}

UNet2DConditionModel load_unet(const std::string& folder, at::ScalarType dtype, at::Device device) {
  const std::string path = folder + "/config.json";
  auto config = io::config::load_unet_2d_condition_config(path);
  check_unet_supported(config, path);
  UNet2DConditionModel model = [&] {
    nn::SkipInitGuard skip_init;  // every weight is about to be loaded
    return UNet2DConditionModel(config);
  }();
  io::load_model_weights(*model, folder, {}, dtype, device);
  return model;
}

}  // namespace lavender::dm
