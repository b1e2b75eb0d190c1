#include <nlohmann/json.hpp>

#include "lavender/io/config/diffusers.h"
#include "lavender/io/config/json_fields.h"
#include "lavender/io/json_file.h"

namespace lavender::io::config {

DDPMSchedulerConfig parse_ddpm_scheduler_config(const nlohmann::json& j,
                                                const std::string& source) {
  const Fields f(j, source);
  const DDPMSchedulerConfig d;
  DDPMSchedulerConfig c;
  c.num_train_timesteps = f.positive("num_train_timesteps", d.num_train_timesteps);
  // Betas are variances of added noise: probabilities in [0, 1] (scaled_linear takes sqrt).
  c.beta_start = f.number_in("beta_start", d.beta_start, 0.0, 1.0);
  c.beta_end = f.number_in("beta_end", d.beta_end, 0.0, 1.0);
  c.beta_schedule =
      f.enumeration<BetaSchedule>("beta_schedule", d.beta_schedule,
                                  {{"linear", BetaSchedule::kLinear},
                                   {"scaled_linear", BetaSchedule::kScaledLinear},
                                   {"squaredcos_cap_v2", BetaSchedule::kSquaredCosCapV2},
                                   {"sigmoid", BetaSchedule::kSigmoid},
                                   {"laplace", BetaSchedule::kLaplace}});
  c.trained_betas = f.optional_numbers("trained_betas");
  if (c.trained_betas) {
    if (static_cast<int64_t>(c.trained_betas->size()) != c.num_train_timesteps) {
      f.fail("trained_betas", "expected num_train_timesteps (" +
                                  std::to_string(c.num_train_timesteps) + ") values, got " +
                                  std::to_string(c.trained_betas->size()));
    }
    for (double beta : *c.trained_betas) {
      if (beta < 0.0 || beta > 1.0) f.fail("trained_betas", "values must lie in [0, 1]");
    }
  }
  c.variance_type = f.enumeration<VarianceType>("variance_type", d.variance_type,
                                                {{"fixed_small", VarianceType::kFixedSmall},
                                                 {"fixed_small_log", VarianceType::kFixedSmallLog},
                                                 {"fixed_large", VarianceType::kFixedLarge},
                                                 {"fixed_large_log", VarianceType::kFixedLargeLog},
                                                 {"learned", VarianceType::kLearned},
                                                 {"learned_range", VarianceType::kLearnedRange}});
  c.clip_sample = f.boolean("clip_sample", d.clip_sample);
  c.prediction_type =
      f.enumeration<PredictionType>("prediction_type", d.prediction_type,
                                    {{"epsilon", PredictionType::kEpsilon},
                                     {"sample", PredictionType::kSample},
                                     {"v_prediction", PredictionType::kVPrediction}});
  c.thresholding = f.boolean("thresholding", d.thresholding);
  c.dynamic_thresholding_ratio =
      f.number_in("dynamic_thresholding_ratio", d.dynamic_thresholding_ratio, 0.0, 1.0);
  c.clip_sample_range = f.number("clip_sample_range", d.clip_sample_range);
  if (!(c.clip_sample_range > 0.0)) f.fail("clip_sample_range", "must be positive");
  c.sample_max_value = f.number("sample_max_value", d.sample_max_value);
  if (!(c.sample_max_value > 0.0)) f.fail("sample_max_value", "must be positive");
  c.timestep_spacing = f.enumeration<TimestepSpacing>("timestep_spacing", d.timestep_spacing,
                                                      {{"linspace", TimestepSpacing::kLinspace},
                                                       {"leading", TimestepSpacing::kLeading},
                                                       {"trailing", TimestepSpacing::kTrailing}});
  c.steps_offset = f.integer("steps_offset", d.steps_offset, 0, kMaxSize);
  c.rescale_betas_zero_snr = f.boolean("rescale_betas_zero_snr", d.rescale_betas_zero_snr);
  return c;
}

DDPMSchedulerConfig load_ddpm_scheduler_config(const std::string& path) {
  return parse_ddpm_scheduler_config(read_json_file(path), path);
}

}  // namespace lavender::io::config
