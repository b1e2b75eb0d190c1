// The teacher's extraction pipeline (METHOD.md, "DM side"): image → VAE latents (or, for a
// pixel-space model without a VAE, the image itself at the UNet's sample_size) → DDPM noise at
// the recipe's timesteps → one UNet pass per (timestep, noise sample) for the whole batch,
// capturing only the chosen cross-attention layers → combine_layers → mean over passes →
// per-word maps of the words that carry a letter or digit.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lavender/dm/clip_text.h"
#include "lavender/dm/noise_schedule.h"
#include "lavender/dm/recipe.h"
#include "lavender/dm/unet.h"
#include "lavender/dm/vae.h"
#include "lavender/io/image.h"
#include "lavender/text/clip_tokenizer.h"

namespace lavender::dm {

struct SdPipeline {
  std::unique_ptr<text::ClipTokenizer> tokenizer;
  ClipTextModel text_encoder{nullptr};
  AutoencoderKL vae{nullptr};  // null for a pixel-space model (no vae/ folder)
  UNet2DConditionModel unet{nullptr};
  std::optional<NoiseSchedule> schedule;

  at::Device device() const;
  c10::ScalarType dtype() const;

  // Pixel space: no VAE; the UNet denoises images in [-1, 1] at its sample_size.
  bool pixel_space() const { return vae.is_empty(); }
  // The side of the square images the pipeline wants for a requested image size: the UNet's
  // sample_size (height) in pixel space when the config gives one, else `requested`.
  int64_t image_size(int64_t requested) const;
  // What the UNet denoises: VAE latents of `images` ([B, 3, H, W] in [-1, 1], on the pipeline's
  // device and dtype), or in pixel space the images resized to sample_size (bilinear with
  // antialiasing) when they differ from it.
  at::Tensor latents(const at::Tensor& images);
};

// Loads a diffusers Stable Diffusion folder: text_encoder/, vae/, unet/, scheduler/ (the
// scheduler_config.json) and tokenizer/ — unless `tokenizer` names another tokenizer (a file or
// folder load_clip_tokenizer accepts). model_index.json is not needed. Without vae/ the model is
// taken to work in pixel space (lavender train-dm writes such folders); its UNet must then take
// and return 3 channels.
// Weights go straight into `dtype` on `device`; maps are aggregated in fp32 whatever the compute
// dtype.
SdPipeline load_sd_pipeline(const std::string& folder, const std::string& tokenizer = "",
                            at::ScalarType dtype = at::kFloat, at::Device device = at::kCPU);

// Where an image's square crop came from, in the original image's pixels.
struct CropBox {
  int x = 0, y = 0, width = 0, height = 0;
};

struct PreparedImage {
  at::Tensor pixels;  // [3, size, size] fp32 in [-1, 1]
  CropBox crop;
};

// Resizes the shorter side to `size` (bilinear with antialiasing, as PIL's bilinear filter does
// when shrinking), centre-crops size×size and maps [0, 255] to [-1, 1].
PreparedImage prepare_image(const io::Image& image, int64_t size);

struct SampleMaps {
  std::vector<std::string> words;                // kept words, in text order
  std::vector<std::pair<int, int>> token_spans;  // per kept word: [first, end) token positions
  bool truncated = false;                        // the text did not fit the encoder's positions
  at::Tensor maps;                               // [n_words_kept, S, S] fp32 in [0, 1], on CPU
};

// images: [B, 3, H, W] in [-1, 1] (H, W multiples of the VAE's downsampling; in pixel space any
// size, resized to the UNet's sample_size). Noise is drawn
// per sample from a generator seeded with `seed` (the same for every sample), so a sample's maps
// do not depend on its batch. Throws lavender::Error for token ids the text encoder cannot embed
// or a recipe whose layers the UNet lacks.
std::vector<SampleMaps> extract(SdPipeline& pipeline, const at::Tensor& images,
                                const std::vector<std::string>& texts, const Recipe& recipe,
                                uint64_t seed);

// The building block of extract(), exposed so it can be checked against a reference: one UNet
// pass of `latents` noised with `noise` at `timesteps` ([B]), conditioned on `context`,
// returning the captured probabilities of `layers` (name → [B, heads, H·W, T]).
std::map<std::string, at::Tensor> noised_cross_attention(
    SdPipeline& pipeline, const at::Tensor& latents, const at::Tensor& noise,
    const at::Tensor& timesteps, const at::Tensor& context, const std::vector<std::string>& layers);

// True when the word has an ASCII letter or digit or any non-ASCII character (a letter in
// another script): punctuation-only words carry no localisable meaning.
bool is_content_word(const std::string& word);

}  // namespace lavender::dm
