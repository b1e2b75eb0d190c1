#include <nlohmann/json.hpp>

#include "lavender/io/config/diffusers.h"
#include "lavender/io/config/json_fields.h"
#include "lavender/io/json_file.h"

namespace lavender::io::config {
namespace {

// The encoder/decoder blocks lavender implements (those of the SD VAE).
void check_block_types(const Fields& f, const std::string& key,
                       const std::vector<std::string>& types, const std::string& allowed,
                       size_t count) {
  if (types.size() != count) {
    f.fail(key, "expected one entry per block_out_channels value (" + std::to_string(count) +
                    "), got " + std::to_string(types.size()));
  }
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i] != allowed) {
      throw_field_error(
          f.source(), f.path(key) + "[" + std::to_string(i) + "]",
          "unsupported value " + describe_value(types[i]) + " (supported: " + allowed + ")");
    }
  }
}

// One value per latent channel, as diffusers applies them channel-wise.
void check_latent_stats(const Fields& f, const std::string& key,
                        const std::optional<std::vector<double>>& values, int64_t channels,
                        bool positive) {
  if (!values) return;
  if (static_cast<int64_t>(values->size()) != channels) {
    f.fail(key, "expected one value per latent channel (" + std::to_string(channels) + "), got " +
                    std::to_string(values->size()));
  }
  for (double v : *values) {
    if (positive && !(v > 0.0)) f.fail(key, "values must be positive");
  }
}

}  // namespace

const std::vector<std::string>& diffusers_activations() {
  static const std::vector<std::string> kNames = {"silu", "swish", "mish", "gelu", "relu"};
  return kNames;
}

std::optional<SampleSize> read_sample_size(const Fields& f, std::optional<SampleSize> def) {
  const std::string key = "sample_size";
  const nlohmann::json* v = f.find(key);
  if (v == nullptr) return def;
  if (!v->is_array()) {
    const int64_t side = f.positive(key, 0);
    return SampleSize{side, side};
  }
  const std::vector<int64_t> hw = f.integers(key, {}, 1, kMaxSize);
  if (hw.size() != 2) f.fail(key, "expected an int or [height, width]");
  return SampleSize{hw[0], hw[1]};
}

AutoencoderKLConfig parse_autoencoder_kl_config(const nlohmann::json& j,
                                                const std::string& source) {
  const Fields f(j, source);
  const AutoencoderKLConfig d;
  AutoencoderKLConfig c;
  c.in_channels = f.positive("in_channels", d.in_channels);
  c.out_channels = f.positive("out_channels", d.out_channels);
  c.block_out_channels = f.integers("block_out_channels", d.block_out_channels, 1, kMaxSize);
  const size_t n = c.block_out_channels.size();
  if (n == 0) f.fail("block_out_channels", "empty list");
  c.down_block_types = f.strings("down_block_types", d.down_block_types);
  check_block_types(f, "down_block_types", c.down_block_types, "DownEncoderBlock2D", n);
  c.up_block_types = f.strings("up_block_types", d.up_block_types);
  check_block_types(f, "up_block_types", c.up_block_types, "UpDecoderBlock2D", n);
  c.layers_per_block = f.positive("layers_per_block", d.layers_per_block);
  c.act_fn = f.one_of("act_fn", d.act_fn, diffusers_activations());
  c.latent_channels = f.positive("latent_channels", d.latent_channels);
  c.norm_num_groups = f.positive("norm_num_groups", d.norm_num_groups);
  // Every encoder/decoder block GroupNorms its channels.
  for (int64_t channels : c.block_out_channels) {
    if (channels % c.norm_num_groups != 0) {
      f.fail("norm_num_groups", "block_out_channels value " + std::to_string(channels) +
                                    " is not divisible by " + std::to_string(c.norm_num_groups) +
                                    " groups");
    }
  }
  c.sample_size = *read_sample_size(f, d.sample_size);
  c.scaling_factor = f.number("scaling_factor", d.scaling_factor);
  // Decoding divides latents by the scaling factor.
  if (!(c.scaling_factor > 0.0)) f.fail("scaling_factor", "must be positive");
  c.shift_factor = f.optional_number("shift_factor");
  c.latents_mean = f.optional_numbers("latents_mean");
  check_latent_stats(f, "latents_mean", c.latents_mean, c.latent_channels, false);
  c.latents_std = f.optional_numbers("latents_std");
  check_latent_stats(f, "latents_std", c.latents_std, c.latent_channels, true);
  c.force_upcast = f.boolean("force_upcast", d.force_upcast);
  c.use_quant_conv = f.boolean("use_quant_conv", d.use_quant_conv);
  c.use_post_quant_conv = f.boolean("use_post_quant_conv", d.use_post_quant_conv);
  c.mid_block_add_attention = f.boolean("mid_block_add_attention", d.mid_block_add_attention);
  return c;
}

AutoencoderKLConfig load_autoencoder_kl_config(const std::string& path) {
  return parse_autoencoder_kl_config(read_json_file(path), path);
}

}  // namespace lavender::io::config
