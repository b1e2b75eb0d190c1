#include <gtest/gtest.h>
#include <torch/torch.h>

#include "lavender/dm/noise_schedule.h"
#include "lavender/io/safetensors.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::dm {
namespace {

using io::config::BetaSchedule;
using io::config::DDPMSchedulerConfig;

TEST(NoiseSchedule, MatchesTheSdFixtureSchedule) {
  auto config = io::config::load_ddpm_scheduler_config(test::fixture_dir("sd_tiny") +
                                                       "/scheduler/scheduler_config.json");
  NoiseSchedule schedule(config);
  auto io = io::SafetensorsFile::open(test::fixture_dir("sd_tiny") + "/io.safetensors");
  EXPECT_LT((schedule.alphas_cumprod() - io->tensor("alphas_cumprod")).abs().max().item<float>(),
            1e-7);
  at::Tensor noisy =
      schedule.add_noise(io->tensor("latents"), io->tensor("noise"), io->tensor("timesteps"));
  EXPECT_LT((noisy - io->tensor("noisy_latents")).abs().max().item<float>(), 1e-6);
}

TEST(NoiseSchedule, OtherSchedulesAreMonotoneAndInRange) {
  for (auto s : {BetaSchedule::kLinear, BetaSchedule::kSquaredCosCapV2, BetaSchedule::kSigmoid}) {
    DDPMSchedulerConfig c;
    c.beta_schedule = s;
    NoiseSchedule schedule(c);
    at::Tensor acp = schedule.alphas_cumprod();
    EXPECT_EQ(acp.size(0), 1000);
    EXPECT_TRUE((acp.slice(0, 1) <= acp.slice(0, 0, -1)).all().item<bool>());
    EXPECT_GT(acp[0].item<float>(), 0.99f);
    EXPECT_LT(acp[-1].item<float>(), 0.01f);
  }
  DDPMSchedulerConfig zero;
  zero.rescale_betas_zero_snr = true;
  EXPECT_NEAR(NoiseSchedule(zero).alphas_cumprod()[-1].item<float>(), 0.0f, 1e-7);
}

TEST(NoiseSchedule, AddNoiseChecksItsInputs) {
  NoiseSchedule schedule(DDPMSchedulerConfig{});
  at::Tensor x = torch::zeros({2, 4, 8, 8});
  EXPECT_THROW(schedule.add_noise(x, torch::zeros({2, 4, 8, 7}), torch::tensor({1, 2})), Error);
  EXPECT_THROW(schedule.add_noise(x, x, torch::tensor({1})), Error);
  EXPECT_THROW(schedule.add_noise(x, x, torch::tensor({1, 1000})), Error);
  // t = 0 keeps almost all of the signal.
  at::Tensor ones = torch::ones({1, 3});
  at::Tensor y = schedule.add_noise(ones, torch::zeros({1, 3}), torch::tensor({0}));
  EXPECT_NEAR(y[0][0].item<float>(), std::sqrt(1 - 1e-4), 1e-6);
}

}  // namespace
}  // namespace lavender::dm
