// `lavender train-dm`: trains a small text-to-image diffusion model from scratch on an
// image–caption dataset with the usual ε-prediction loss (Ho et al. 2020):
//   x_t = sqrt(ᾱ_t)·x0 + sqrt(1 − ᾱ_t)·ε,  t ~ U{0..999},  L = ‖ε − UNet(x_t, t, CLIP(caption))‖²
// in pixel space (x0 = the image at --image-size, in [-1, 1]), built from the teacher's own
// modules (UNet2DConditionModel, ClipTextModel, NoiseSchedule) and a CLIP BPE tokenizer learnt
// from the captions (every caption word one token). The result is a diffusers folder without
// vae/ that load_sd_pipeline / extract / `lavender sd-attn` read unchanged:
//   OUT/unet/{config.json, diffusion_pytorch_model.safetensors}
//   OUT/text_encoder/{config.json, model.safetensors}
//   OUT/scheduler/scheduler_config.json, OUT/tokenizer/{vocab.json, merges.txt}
//   OUT/metrics.jsonl (loss per logged step), OUT/train_dm.json (settings and measurements),
//   OUT/model_index.json (written last; its presence marks a finished folder)
// The folder is built under a hidden sibling and renamed into place at the end, so OUT either
// does not exist or is complete.
#pragma once

#include <cstdint>
#include <string>

#include "lavender/scratch/small_dm_config.h"

namespace lavender::scratch {

struct TrainDmOptions {
  std::string data;    // dataset (any layout read_dataset knows); the reply/caption is the text
  // Further datasets trained on with their whole conversation text (every turn, e.g. "What colour
  // is the star? red"), so that the texts the teacher will be asked to draw maps for are ones
  // its text encoder has seen: a causal text encoder gives a word a different key after a
  // question it never met.
  std::vector<std::string> text_data;
  std::string images;  // root for relative image paths ("": the dataset file's folder)
  std::string out;
  // Further texts the tokenizer and the text length must serve (the questions and answers the
  // teacher will later draw maps for), so that their words are single tokens too.
  std::vector<std::string> vocabulary_texts;
  SmallDmSpec spec;
  int64_t steps = 500;
  int64_t batch = 32;
  double lr = 1e-3;
  int64_t warmup_steps = 50;
  double weight_decay = 0.01;
  double max_grad_norm = 1.0;
  // Classifier-free guidance training: the caption is replaced by the empty text this often.
  double caption_dropout = 0.1;
  uint64_t seed = 0;
  int64_t log_every = 25;
  bool show_progress = true;
};

struct TrainDmResult {
  bool already_trained = false;  // OUT was a finished folder; nothing was done
  int64_t pairs = 0;             // image–caption pairs trained on
  int64_t steps = 0;
  int64_t unet_parameters = 0, text_parameters = 0;
  int64_t vocab_size = 0;
  double first_loss = 0, last_loss = 0;  // means over the first and last logged intervals
  double steps_per_second = 0;
  double seconds = 0;
};

// Throws lavender::Error for an unreadable dataset, no usable pairs, a bad option, or an OUT
// that exists but is not a finished train-dm folder.
TrainDmResult train_dm(const TrainDmOptions& options);

// True when `dir` holds a finished train-dm folder (its model_index.json).
bool is_trained_dm(const std::string& dir);

}  // namespace lavender::scratch
