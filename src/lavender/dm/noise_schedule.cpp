#include "lavender/dm/noise_schedule.h"

#include <ATen/ATen.h>

#include <cmath>

#include "lavender/util/error.h"

namespace lavender::dm {
namespace {

using io::config::BetaSchedule;

// The cosine schedule ("squaredcos_cap_v2"): betas from ᾱ(t) = cos²((t + 0.008)/1.008 · π/2).
at::Tensor cosine_betas(int64_t steps, double max_beta = 0.999) {
  auto alpha_bar = [](double t) {
    double c = std::cos((t + 0.008) / 1.008 * M_PI / 2);
    return c * c;
  };
  std::vector<float> betas;
  for (int64_t i = 0; i < steps; ++i) {
    double t1 = double(i) / steps, t2 = double(i + 1) / steps;
    betas.push_back(static_cast<float>(std::min(1 - alpha_bar(t2) / alpha_bar(t1), max_beta)));
  }
  return at::tensor(betas, at::kFloat);
}

// Rescales betas so that the final ᾱ is zero (terminal SNR 0), keeping the first unchanged.
at::Tensor rescale_zero_terminal_snr(const at::Tensor& betas) {
  at::Tensor sqrt_acp = (1 - betas).cumprod(0).sqrt();
  at::Tensor first = sqrt_acp[0].clone(), last = sqrt_acp[-1].clone();
  sqrt_acp = (sqrt_acp - last) * first / (first - last);
  at::Tensor acp = sqrt_acp.pow(2);
  at::Tensor alphas = at::cat({acp.slice(0, 0, 1), acp.slice(0, 1) / acp.slice(0, 0, -1)});
  return 1 - alphas;
}

}  // namespace

NoiseSchedule::NoiseSchedule(const io::config::DDPMSchedulerConfig& config) {
  const int64_t steps = config.num_train_timesteps;
  const auto f32 = at::TensorOptions().dtype(at::kFloat);
  if (config.trained_betas) {
    betas_ = at::tensor(*config.trained_betas, at::kDouble).to(at::kFloat);
  } else {
    switch (config.beta_schedule) {
      case BetaSchedule::kLinear:
        betas_ = at::linspace(config.beta_start, config.beta_end, steps, f32);
        break;
      case BetaSchedule::kScaledLinear:
        betas_ = at::linspace(std::sqrt(config.beta_start), std::sqrt(config.beta_end), steps, f32)
                     .pow(2);
        break;
      case BetaSchedule::kSquaredCosCapV2:
        betas_ = cosine_betas(steps);
        break;
      case BetaSchedule::kSigmoid:
        betas_ =
            at::sigmoid(at::linspace(-6, 6, steps, f32)) * (config.beta_end - config.beta_start) +
            config.beta_start;
        break;
      default:
        throw Error(
            "scheduler: beta_schedule is not implemented by lavender (use linear, "
            "scaled_linear, squaredcos_cap_v2 or sigmoid)");
    }
  }
  if (config.rescale_betas_zero_snr) betas_ = rescale_zero_terminal_snr(betas_);
  alphas_cumprod_ = (1 - betas_).cumprod(0);
}

at::Tensor NoiseSchedule::add_noise(const at::Tensor& x0, const at::Tensor& noise,
                                    const at::Tensor& timesteps) const {
  if (x0.sizes() != noise.sizes()) throw Error("add_noise: sample and noise shapes differ");
  if (timesteps.dim() != 1 || timesteps.size(0) != x0.size(0))
    throw Error("add_noise: need one timestep per batch element");
  int64_t lo = timesteps.min().item<int64_t>(), hi = timesteps.max().item<int64_t>();
  if (lo < 0 || hi >= num_train_timesteps())
    throw Error("add_noise: timestep out of range [0, " + std::to_string(num_train_timesteps()) +
                ")");
  at::Tensor acp = alphas_cumprod_.to(x0.device())
                       .to(x0.scalar_type())
                       .index_select(0, timesteps.to(x0.device()));
  std::vector<int64_t> shape(static_cast<size_t>(x0.dim()), 1);
  shape[0] = x0.size(0);
  at::Tensor sqrt_a = acp.pow(0.5).reshape(shape);
  at::Tensor sqrt_1ma = (1 - acp).pow(0.5).reshape(shape);
  return sqrt_a * x0 + sqrt_1ma * noise;
}

}  // namespace lavender::dm
