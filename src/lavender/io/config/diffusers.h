// diffusers model and scheduler configs: UNet2DConditionModel, AutoencoderKL and DDPMScheduler.
// Defaults follow diffusers' constructor arguments (SD 1.x sizes for the UNet).
//
// Per-block settings that diffusers accepts either as one value or as one value per down block
// (layers_per_block, attention_head_dim, cross_attention_dim, ...) are stored expanded: one entry
// per down block, in down-block order (up blocks use them reversed, as diffusers does).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace lavender::io::config {

// "sample_size": one int (square) or [height, width].
struct SampleSize {
  int64_t height = 0;
  int64_t width = 0;
};

struct UNet2DConditionConfig {
  std::optional<SampleSize> sample_size;  // diffusers default: None
  int64_t in_channels = 4;
  int64_t out_channels = 4;
  bool center_input_sample = false;
  bool flip_sin_to_cos = true;
  int64_t freq_shift = 0;
  // Supported: DownBlock2D, CrossAttnDownBlock2D.
  std::vector<std::string> down_block_types = {"CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                               "CrossAttnDownBlock2D", "DownBlock2D"};
  // Supported: UNetMidBlock2DCrossAttn, UNetMidBlock2D, or none (null).
  std::optional<std::string> mid_block_type = "UNetMidBlock2DCrossAttn";
  // Supported: UpBlock2D, CrossAttnUpBlock2D.
  std::vector<std::string> up_block_types = {"UpBlock2D", "CrossAttnUpBlock2D",
                                             "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"};
  std::vector<bool> only_cross_attention = {false, false, false, false};  // per block
  // diffusers: when only_cross_attention is a single bool and this is null, the bool; else false.
  bool mid_block_only_cross_attention = false;
  std::vector<int64_t> block_out_channels = {320, 640, 1280, 1280};
  std::vector<int64_t> layers_per_block = {2, 2, 2, 2};  // per block (up blocks use n + 1)
  int64_t downsample_padding = 1;
  double mid_block_scale_factor = 1.0;
  double dropout = 0.0;
  std::string act_fn = "silu";
  std::optional<int64_t> norm_num_groups = 32;  // null: no output GroupNorm
  double norm_eps = 1e-5;
  std::vector<int64_t> cross_attention_dim = {1280, 1280, 1280, 1280};  // per block
  std::vector<int64_t> transformer_layers_per_block = {1, 1, 1, 1};     // per block
  std::optional<int64_t> encoder_hid_dim;
  std::optional<std::string> encoder_hid_dim_type;
  // Misnamed in diffusers: for UNet2DConditionModel's cross-attention blocks this is used as the
  // number of heads. Per block.
  std::vector<int64_t> attention_head_dim = {8, 8, 8, 8};
  // Heads per block. diffusers quirk (see diffusers issue 2011): when num_attention_heads is
  // absent it equals attention_head_dim, so SD 1.x has 8 heads per block and SD 2.x
  // ([5, 10, 20, 20]) has 64-channel heads. The per-head width is channels / heads.
  std::vector<int64_t> num_attention_heads = {8, 8, 8, 8};
  bool dual_cross_attention = false;
  bool use_linear_projection = false;
  std::optional<std::string> class_embed_type;
  std::optional<std::string> addition_embed_type;
  std::optional<int64_t> addition_time_embed_dim;
  std::optional<int64_t> num_class_embeds;
  bool upcast_attention = false;
  std::string resnet_time_scale_shift = "default";
  bool resnet_skip_time_act = false;
  double resnet_out_scale_factor = 1.0;
  std::string time_embedding_type = "positional";
  std::optional<int64_t> time_embedding_dim;
  std::optional<std::string> time_embedding_act_fn;
  std::optional<std::string> timestep_post_act;
  std::optional<int64_t> time_cond_proj_dim;
  int64_t conv_in_kernel = 3;
  int64_t conv_out_kernel = 3;
  std::optional<int64_t> projection_class_embeddings_input_dim;
  std::string attention_type = "default";
  bool class_embeddings_concat = false;
  std::optional<std::string> cross_attention_norm;
  int64_t addition_embed_type_num_heads = 64;
};

struct AutoencoderKLConfig {
  int64_t in_channels = 3;
  int64_t out_channels = 3;
  std::vector<std::string> down_block_types = {"DownEncoderBlock2D"};  // the only one supported
  std::vector<std::string> up_block_types = {"UpDecoderBlock2D"};      // the only one supported
  std::vector<int64_t> block_out_channels = {64};
  int64_t layers_per_block = 1;
  std::string act_fn = "silu";
  int64_t latent_channels = 4;
  int64_t norm_num_groups = 32;
  SampleSize sample_size = {32, 32};
  // Latents fed to the UNet are (z - shift_factor) * scaling_factor.
  double scaling_factor = 0.18215;
  std::optional<double> shift_factor;
  std::optional<std::vector<double>> latents_mean;  // one per latent channel when present
  std::optional<std::vector<double>> latents_std;
  bool force_upcast = true;
  bool use_quant_conv = true;
  bool use_post_quant_conv = true;
  bool mid_block_add_attention = true;
};

enum class BetaSchedule { kLinear, kScaledLinear, kSquaredCosCapV2, kSigmoid, kLaplace };
enum class VarianceType {
  kFixedSmall,
  kFixedSmallLog,
  kFixedLarge,
  kFixedLargeLog,
  kLearned,
  kLearnedRange
};
enum class PredictionType { kEpsilon, kSample, kVPrediction };
enum class TimestepSpacing { kLinspace, kLeading, kTrailing };

struct DDPMSchedulerConfig {
  int64_t num_train_timesteps = 1000;
  double beta_start = 0.0001;
  double beta_end = 0.02;
  BetaSchedule beta_schedule = BetaSchedule::kLinear;
  // When present, used instead of beta_schedule; one beta per training timestep.
  std::optional<std::vector<double>> trained_betas;
  VarianceType variance_type = VarianceType::kFixedSmall;
  bool clip_sample = true;
  PredictionType prediction_type = PredictionType::kEpsilon;
  bool thresholding = false;
  double dynamic_thresholding_ratio = 0.995;
  double clip_sample_range = 1.0;
  double sample_max_value = 1.0;
  TimestepSpacing timestep_spacing = TimestepSpacing::kLeading;
  int64_t steps_offset = 0;
  bool rescale_betas_zero_snr = false;
};

UNet2DConditionConfig parse_unet_2d_condition_config(const nlohmann::json& j,
                                                     const std::string& source);
UNet2DConditionConfig load_unet_2d_condition_config(const std::string& path);
AutoencoderKLConfig parse_autoencoder_kl_config(const nlohmann::json& j, const std::string& source);
AutoencoderKLConfig load_autoencoder_kl_config(const std::string& path);
DDPMSchedulerConfig parse_ddpm_scheduler_config(const nlohmann::json& j, const std::string& source);
DDPMSchedulerConfig load_ddpm_scheduler_config(const std::string& path);

class Fields;

// Shared by the UNet and VAE readers: "sample_size" as an int or [height, width]; absent gives
// `def`.
std::optional<SampleSize> read_sample_size(const Fields& f, std::optional<SampleSize> def);

// Activation names diffusers' get_activation() knows.
const std::vector<std::string>& diffusers_activations();

}  // namespace lavender::io::config
