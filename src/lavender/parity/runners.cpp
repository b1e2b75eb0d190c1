// Which implementation answers each fixture kind. Model issues plug their runners in here.
#include <ATen/ATen.h>

#include <torch/torch.h>

#include "lavender/dm/clip_text.h"
#include "lavender/dm/noise_schedule.h"
#include "lavender/dm/unet.h"
#include "lavender/dm/vae.h"
#include "lavender/parity/parity.h"
#include "lavender/parity/run_preprocess.h"

namespace lavender::parity {

Outputs run_llava(const Fixture& f);         // run_llava.cpp
Outputs run_mllama(const Fixture& f);        // run_mllama.cpp
Outputs run_openflamingo(const Fixture& f);  // run_openflamingo.cpp
Outputs run_minicpmv(const Fixture& f);      // run_minicpmv.cpp

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

// Stable Diffusion pipeline fixture: text encoder, DDPM schedule, VAE and UNet, each on the
// fixture's own inputs to it, so one component's error does not hide behind another's.
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

  auto vae = dm::load_vae(f.path("vae"));
  auto posterior = vae->encode(f.tensor("image"));
  out["latent_mean"] = posterior.mean;
  out["latent_std"] = posterior.std;
  out["latents"] = dm::latents_from_image(*vae, f.tensor("image"));
  out["vae_decoded"] = dm::image_from_latents(*vae, f.tensor("latents"));

  // The reference stores cross-attention as attn2.<layer>.processor, [batch·heads, H·W, 77].
  const std::string prefix = "attn2.", suffix = ".processor";
  std::map<std::string, std::string> layer_of;  // our layer name → fixture name
  for (const auto& name : f.reference_names())
    if (name.rfind(prefix, 0) == 0 && name.size() > prefix.size() + suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      layer_of[name.substr(prefix.size(), name.size() - prefix.size() - suffix.size())] = name;
  std::vector<std::string> layers;
  for (const auto& [layer, name] : layer_of) layers.push_back(layer);

  auto unet = dm::load_unet(f.path("unet"));
  auto result = unet->forward_capturing(f.tensor("noisy_latents"), f.tensor("timesteps"),
                                        f.tensor("encoder_hidden_states"), layers);
  out["unet_out"] = result.sample;
  for (const auto& [layer, probs] : result.cross_attention)
    out[layer_of.at(layer)] = probs.flatten(0, 1);
  return out;
}

}  // namespace

Runner runner_for(FixtureKind kind) {
  switch (kind) {
    case FixtureKind::sd:
      return run_sd;
    case FixtureKind::clip_text:
      return run_clip_text;
    case FixtureKind::preprocess:
      return run_preprocess;
    case FixtureKind::llava:
      return run_llava;
    case FixtureKind::mllama:
      return run_mllama;
    case FixtureKind::openflamingo:
      return run_openflamingo;
    case FixtureKind::minicpmv:
      return run_minicpmv;
  }
  return {};
}

}  // namespace lavender::parity
