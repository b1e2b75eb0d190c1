#include <nlohmann/json.hpp>

#include "lavender/io/config/diffusers.h"
#include "lavender/io/config/json_fields.h"
#include "lavender/io/json_file.h"

namespace lavender::io::config {
namespace {

// The UNet blocks lavender implements (those of SD 1.x / 2.x).
const std::vector<std::string> kDownBlocks = {"DownBlock2D", "CrossAttnDownBlock2D"};
const std::vector<std::string> kUpBlocks = {"UpBlock2D", "CrossAttnUpBlock2D"};
const std::vector<std::string> kMidBlocks = {"UNetMidBlock2DCrossAttn", "UNetMidBlock2D"};

std::vector<std::string> read_block_types(const Fields& f, const std::string& key,
                                          const std::vector<std::string>& def,
                                          const std::vector<std::string>& allowed) {
  std::vector<std::string> types = f.strings(key, def);
  if (types.empty()) f.fail(key, "empty list");
  for (size_t i = 0; i < types.size(); ++i) {
    bool known = false;
    for (const std::string& name : allowed) known = known || name == types[i];
    if (!known) {
      throw_field_error(f.source(), f.path(key) + "[" + std::to_string(i) + "]",
                        "unsupported value " + describe_value(types[i]) +
                            " (supported: " + join_names(allowed) + ")");
    }
  }
  return types;
}

// "only_cross_attention": one bool for all blocks, or one per block.
std::vector<bool> read_only_cross_attention(const Fields& f, size_t count) {
  const std::string key = "only_cross_attention";
  const nlohmann::json* v = f.find(key);
  if (v == nullptr || !v->is_array()) return std::vector<bool>(count, f.boolean(key, false));
  if (v->size() != count) {
    f.fail(key, "expected one value per block (" + std::to_string(count) + "), got " +
                    std::to_string(v->size()));
  }
  std::vector<bool> out;
  for (size_t i = 0; i < count; ++i) {
    const nlohmann::json& element = (*v)[i];
    if (!element.is_boolean()) {
      throw_field_error(f.source(), f.path(key) + "[" + std::to_string(i) + "]",
                        std::string("expected a boolean, got ") + element.type_name());
    }
    out.push_back(element.get<bool>());
  }
  return out;
}

bool is_cross_attn(const std::string& block_type) {
  return block_type == "CrossAttnDownBlock2D" || block_type == "CrossAttnUpBlock2D" ||
         block_type == "UNetMidBlock2DCrossAttn";
}

int64_t odd_kernel(const Fields& f, const std::string& key, int64_t def) {
  // diffusers pads by (k - 1) / 2, which only preserves the spatial size for odd kernels.
  const int64_t k = f.integer(key, def, 1, 31);
  if (k % 2 == 0) f.fail(key, "kernel size " + std::to_string(k) + " must be odd");
  return k;
}

// Transformer2DModel splits a block's channels into equal heads.
void check_heads(const Fields& f, const UNet2DConditionConfig& c, const std::string& heads_key) {
  const size_t n = c.block_out_channels.size();
  for (size_t i = 0; i < n; ++i) {
    const bool attends = is_cross_attn(c.down_block_types[i]) ||
                         is_cross_attn(c.up_block_types[n - 1 - i]) ||
                         (i == n - 1 && c.mid_block_type && is_cross_attn(*c.mid_block_type));
    if (attends && c.block_out_channels[i] % c.num_attention_heads[i] != 0) {
      f.fail(heads_key, "block " + std::to_string(i) + ": " +
                            std::to_string(c.block_out_channels[i]) +
                            " channels are not divisible by " +
                            std::to_string(c.num_attention_heads[i]) + " heads");
    }
  }
}

}  // namespace

UNet2DConditionConfig parse_unet_2d_condition_config(const nlohmann::json& j,
                                                     const std::string& source) {
  const Fields f(j, source);
  const UNet2DConditionConfig d;
  UNet2DConditionConfig c;
  c.sample_size = read_sample_size(f, d.sample_size);
  c.in_channels = f.positive("in_channels", d.in_channels);
  c.out_channels = f.positive("out_channels", d.out_channels);
  c.center_input_sample = f.boolean("center_input_sample", d.center_input_sample);
  c.flip_sin_to_cos = f.boolean("flip_sin_to_cos", d.flip_sin_to_cos);
  c.freq_shift = f.integer("freq_shift", d.freq_shift, -kMaxSize, kMaxSize);

  c.down_block_types = read_block_types(f, "down_block_types", d.down_block_types, kDownBlocks);
  const size_t n = c.down_block_types.size();
  c.up_block_types = read_block_types(f, "up_block_types", d.up_block_types, kUpBlocks);
  if (c.up_block_types.size() != n) {
    f.fail("up_block_types", "expected as many entries as down_block_types (" + std::to_string(n) +
                                 "), got " + std::to_string(c.up_block_types.size()));
  }
  // An explicit null means "no mid block", unlike most fields where null means the default.
  c.mid_block_type =
      f.is_null("mid_block_type")
          ? std::nullopt
          : std::optional<std::string>(f.one_of("mid_block_type", *d.mid_block_type, kMidBlocks));

  c.block_out_channels = f.integers("block_out_channels", d.block_out_channels, 1, kMaxSize);
  if (c.block_out_channels.size() != n) {
    f.fail("block_out_channels", "expected one value per block (" + std::to_string(n) + "), got " +
                                     std::to_string(c.block_out_channels.size()));
  }
  c.only_cross_attention = read_only_cross_attention(f, n);
  const nlohmann::json* oca = f.find("only_cross_attention");
  const bool oca_is_bool = oca == nullptr || oca->is_boolean();
  c.mid_block_only_cross_attention =
      f.boolean("mid_block_only_cross_attention", oca_is_bool ? c.only_cross_attention[0] : false);

  c.layers_per_block = f.integer_per_block("layers_per_block", 2, n, 1, kMaxSize);
  c.downsample_padding = f.integer("downsample_padding", d.downsample_padding, 0, kMaxSize);
  c.mid_block_scale_factor = f.number("mid_block_scale_factor", d.mid_block_scale_factor);
  c.dropout = f.number_in("dropout", d.dropout, 0.0, 1.0);
  c.act_fn = f.one_of("act_fn", d.act_fn, diffusers_activations());
  c.norm_num_groups = f.nullable_integer("norm_num_groups", d.norm_num_groups, 1, kMaxSize);
  if (c.norm_num_groups) {
    for (int64_t channels : c.block_out_channels) {
      if (channels % *c.norm_num_groups != 0) {
        f.fail("norm_num_groups", "block_out_channels value " + std::to_string(channels) +
                                      " is not divisible by " + std::to_string(*c.norm_num_groups) +
                                      " groups");
      }
    }
  }
  c.norm_eps = f.number_in("norm_eps", d.norm_eps, 0.0, 1.0);
  c.cross_attention_dim = f.integer_per_block("cross_attention_dim", 1280, n, 1, kMaxSize);
  if (f.has("reverse_transformer_layers_per_block")) {
    f.fail("reverse_transformer_layers_per_block", "asymmetric UNets are not supported");
  }
  c.transformer_layers_per_block =
      f.integer_per_block("transformer_layers_per_block", 1, n, 1, kMaxSize);
  c.encoder_hid_dim = f.optional_integer("encoder_hid_dim", std::nullopt, 1, kMaxSize);
  c.encoder_hid_dim_type = f.optional_one_of(
      "encoder_hid_dim_type", {"text_proj", "text_image_proj", "image_proj", "ip_image_proj"});

  c.attention_head_dim = f.integer_per_block("attention_head_dim", 8, n, 1, kMaxSize);
  // diffusers: num_attention_heads = num_attention_heads or attention_head_dim.
  const bool explicit_heads = f.has("num_attention_heads");
  c.num_attention_heads = explicit_heads
                              ? f.integer_per_block("num_attention_heads", 0, n, 1, kMaxSize)
                              : c.attention_head_dim;
  check_heads(f, c, explicit_heads ? "num_attention_heads" : "attention_head_dim");

  c.dual_cross_attention = f.boolean("dual_cross_attention", d.dual_cross_attention);
  c.use_linear_projection = f.boolean("use_linear_projection", d.use_linear_projection);
  c.class_embed_type = f.optional_one_of(
      "class_embed_type", {"timestep", "identity", "projection", "simple_projection"});
  c.addition_embed_type = f.optional_one_of(
      "addition_embed_type", {"text", "text_image", "text_time", "image", "image_hint"});
  c.addition_time_embed_dim =
      f.optional_integer("addition_time_embed_dim", std::nullopt, 1, kMaxSize);
  c.num_class_embeds = f.optional_integer("num_class_embeds", std::nullopt, 1, kMaxSize);
  c.upcast_attention = f.boolean("upcast_attention", d.upcast_attention);
  c.resnet_time_scale_shift =
      f.one_of("resnet_time_scale_shift", d.resnet_time_scale_shift, {"default", "scale_shift"});
  c.resnet_skip_time_act = f.boolean("resnet_skip_time_act", d.resnet_skip_time_act);
  c.resnet_out_scale_factor = f.number("resnet_out_scale_factor", d.resnet_out_scale_factor);
  c.time_embedding_type =
      f.one_of("time_embedding_type", d.time_embedding_type, {"positional", "fourier"});
  c.time_embedding_dim = f.optional_integer("time_embedding_dim", std::nullopt, 1, kMaxSize);
  // Fourier features come in sin/cos pairs.
  if (c.time_embedding_type == "fourier" && c.time_embedding_dim &&
      *c.time_embedding_dim % 2 != 0) {
    f.fail("time_embedding_dim", "must be even for fourier time embeddings");
  }
  c.time_embedding_act_fn = f.optional_one_of("time_embedding_act_fn", diffusers_activations());
  c.timestep_post_act = f.optional_one_of("timestep_post_act", diffusers_activations());
  c.time_cond_proj_dim = f.optional_integer("time_cond_proj_dim", std::nullopt, 1, kMaxSize);
  c.conv_in_kernel = odd_kernel(f, "conv_in_kernel", d.conv_in_kernel);
  c.conv_out_kernel = odd_kernel(f, "conv_out_kernel", d.conv_out_kernel);
  c.projection_class_embeddings_input_dim =
      f.optional_integer("projection_class_embeddings_input_dim", std::nullopt, 1, kMaxSize);
  c.attention_type =
      f.one_of("attention_type", d.attention_type, {"default", "gated", "gated-text-image"});
  c.class_embeddings_concat = f.boolean("class_embeddings_concat", d.class_embeddings_concat);
  c.cross_attention_norm = f.optional_one_of("cross_attention_norm", {"layer_norm", "group_norm"});
  c.addition_embed_type_num_heads =
      f.positive("addition_embed_type_num_heads", d.addition_embed_type_num_heads);
  return c;
}

UNet2DConditionConfig load_unet_2d_condition_config(const std::string& path) {
  return parse_unet_2d_condition_config(read_json_file(path), path);
}

}  // namespace lavender::io::config
