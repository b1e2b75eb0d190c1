// The DDPM forward-noising schedule of diffusers' DDPMScheduler: betas, cumulative alphas, and
// noising a clean sample to timestep t. Computed in fp32 exactly as diffusers does, so the
// teacher's noisy latents match the reference bit for bit where the arithmetic allows.
#pragma once

#include <ATen/core/Tensor.h>

#include "lavender/io/config/diffusers.h"

namespace lavender::dm {

class NoiseSchedule {
 public:
  // Throws lavender::Error for schedules not implemented (laplace).
  explicit NoiseSchedule(const io::config::DDPMSchedulerConfig& config);

  const at::Tensor& betas() const { return betas_; }                    // [T] fp32
  const at::Tensor& alphas_cumprod() const { return alphas_cumprod_; }  // [T] fp32
  int64_t num_train_timesteps() const { return betas_.size(0); }

  // x_t = sqrt(ᾱ_t)·x0 + sqrt(1 − ᾱ_t)·noise, with one timestep per batch element.
  at::Tensor add_noise(const at::Tensor& x0, const at::Tensor& noise,
                       const at::Tensor& timesteps) const;

 private:
  at::Tensor betas_;
  at::Tensor alphas_cumprod_;
};

}  // namespace lavender::dm
