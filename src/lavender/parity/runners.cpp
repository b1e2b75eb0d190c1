// Which implementation answers each fixture kind. Model issues plug their runners in here.
#include <ATen/ATen.h>

#include <torch/torch.h>

#include "lavender/dm/clip_text.h"
#include "lavender/dm/noise_schedule.h"
#include "lavender/parity/parity.h"

namespace lavender::parity {
namespace {

Outputs run_clip_text(const Fixture& f) {
  torch::NoGradGuard no_grad;
  auto model = dm::load_clip_text_model(f.dir);
  auto result = model->forward(f.tensor("input_ids"), /*all_hidden_states=*/true);
  Outputs out{{"last_hidden_state", result.last_hidden_state},
              {"pooler_output", result.pooler_output}};
  for (size_t i = 0; i < result.hidden_states.size(); ++i)
    out["hidden_states." + std::to_string(i)] = result.hidden_states[i];
  return out;
}

// Stable Diffusion pipeline fixture: so far the text encoder and the DDPM schedule (the UNet and
// VAE report as pending until they exist).
Outputs run_sd(const Fixture& f) {
  torch::NoGradGuard no_grad;
  auto config = io::config::load_ddpm_scheduler_config(f.path("scheduler/scheduler_config.json"));
  dm::NoiseSchedule schedule(config);
  Outputs out;
  out["encoder_hidden_states"] = dm::load_clip_text_model(f.path("text_encoder"))
                                     ->forward(f.tensor("text_input_ids"))
                                     .last_hidden_state;
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
      return run_clip_text;
    case FixtureKind::llava:
    case FixtureKind::mllama:
    case FixtureKind::preprocess:
      break;
  }
  return {};
}

}  // namespace lavender::parity
