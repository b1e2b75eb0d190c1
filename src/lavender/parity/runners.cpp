// Which implementation answers each fixture kind. Model issues plug their runners in here.
#include <ATen/ATen.h>

#include "lavender/dm/noise_schedule.h"
#include "lavender/parity/parity.h"

namespace lavender::parity {
namespace {

// Stable Diffusion pipeline fixture: so far the DDPM schedule (the UNet, VAE and text encoder
// belong to the teacher issue and report as pending until they exist).
Outputs run_sd(const Fixture& f) {
  auto config = io::config::load_ddpm_scheduler_config(f.path("scheduler/scheduler_config.json"));
  dm::NoiseSchedule schedule(config);
  Outputs out;
  out["alphas_cumprod"] = schedule.alphas_cumprod();
  // Noising is checked on the reference latents, independently of our VAE.
  out["noisy_latents"] =
      schedule.add_noise(f.tensor("latents"), f.tensor("noise"), f.tensor("timesteps"));
  return out;
}

}  // namespace

Runner runner_for(FixtureKind kind) {
  switch (kind) {
    case FixtureKind::sd:
      return run_sd;
    case FixtureKind::clip_text:
    case FixtureKind::llava:
    case FixtureKind::mllama:
    case FixtureKind::preprocess:
      break;
  }
  return {};
}

}  // namespace lavender::parity
