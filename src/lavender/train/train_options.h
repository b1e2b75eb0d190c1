// Every setting of a training run, with one table of option names, defaults and help that both
// the command line (`lavender train --name value`) and a `--config file.json` ({"name": value})
// fill, so the two forms cannot drift apart and `--help` lists everything with its default.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lavender/train/schedule.h"

namespace lavender::train {

struct TrainOptions {
  // --- data and model
  std::string model, data, images, maps, out;
  std::string data_format = "detect";
  std::string caption_prompt = "Describe the image in a single sentence as a caption.";
  int64_t max_tokens = 2048;
  int64_t max_samples = 0;  // 0: every usable sample of --data; N: the first N (learning curves)
  bool shuffle = true;
  // --- the run
  int64_t max_steps = 1000;
  int64_t batch_size = 1;  // per process and micro-batch
  int64_t grad_accum = 1;  // micro-batches per optimizer step
  uint64_t seed = 0;
  bool resume = false;
  std::string device = "cpu";
  std::string dtype = "fp32";           // weights' dtype; bf16 autocast on CUDA is `autocast`
  std::string master_weights = "fp32";  // trainable parameters' master copy and AdamW state
  std::string loss_scale = "auto";      // auto | dynamic | none | a fixed number
  std::string sharding = "none";        // none | grad-op | full
  bool autocast = false;
  bool gradient_checkpointing = false;
  int64_t threads = 0;  // 0: every core
  // --- the Lavender objective
  LambdaSchedule lambda;
  TextWeightSchedule text_weight;
  std::string aggregation = "heads-mean";
  std::string aligner = "sim";
  int64_t aligner_hidden = 32;
  std::string aligner_norm = "instance";
  std::string aligner_activation = "relu6";
  std::vector<int64_t> align_layers;  // empty: the family's default
  bool parallel_attention = false;
  double parallel_fraction = 0.2;  // of the default layers, when align_layers is empty
  int64_t map_size = 32;
  std::string match_scope = "reply";
  // How a family whose text reads resampled latents (OpenFlamingo, MiniCPM-V) makes them maps:
  // composed | square (align/resampled_attention_maps.h); eval's --latent-maps and ChatModel
  // default to the same. Composed, measured (issue 17) on the shapes world with the scratch
  // OpenFlamingo (init-vlm --family openflamingo: 16 latents over 8×8 patches) through the demo's
  // recipe, 3 seeds, each model read as it was trained; grounding IoU with the truth, test-id /
  // test-ood-combo (mean ± sd):
  //   Lavender-GT  composed 0.394±0.062 / 0.407±0.065   square 0.037±0.018 / 0.037±0.015
  //   Lavender-DM  composed 0.377±0.011 / 0.409±0.019   square 0.036±0.013 / 0.036±0.008
  //   SFT          composed 0.262±0.008 / 0.331±0.004   square 0.037±0.006 / 0.036±0.004
  // i.e. about +0.35 IoU (10×). Square never grounds: the alignment loss on it stays at 0.04
  // for 600 steps (composed: 0.03 → 0.014), since a latent has no place in the image for the
  // loss to pull a word towards, and 64 latents (8×8) do no better (0.02 / 0.02, seed 0).
  // Accuracy is the same either way within the seeds' spread (0.46-0.49 / 0.44-0.46).
  std::string latent_maps = "composed";
  // MiniCPM-V: the views a word's map is made of (align/sliced_attention_maps.h): both the
  // source picture and the slices (the default), or either alone. Measured on the shapes world
  // with a scratch MiniCPM-V (2 × 2 slices), Lavender-DM, seeds 0 and 1, grounding IoU test-id:
  // both 0.401 / 0.382, source 0.334 / 0.352, slices 0.374 / 0.329; composed beats square there
  // as for OpenFlamingo (0.401 vs 0.034). With ground-truth maps the source alone read better
  // (0.22 vs 0.13–0.19), but that arm trained poorly on this model (README, "Measured here").
  std::string sliced_views = "both";
  std::string word_filter = "all";
  std::string pos_lexicon;
  // --- optimisation
  LrSchedule lr;
  double aligner_lr = 0;  // 0: the same as lr
  double weight_decay = 0.0;
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_eps = 1e-8;
  double max_grad_norm = 1.0;  // 0: no clipping
  // Parameters held still: regexes over their names, or @vision, the student's vision encoder
  // whatever its checkpoint calls it (Student::vision_encoder_prefix).
  std::vector<std::string> freeze{"@vision"};
  // --- LoRA (only the adapters, learned parallel projections and the Aligner train)
  bool lora = false;
  int64_t lora_rank = 8;
  double lora_alpha = 16;
  double lora_dropout = 0.05;
  std::vector<std::string> lora_targets{"q_proj", "k_proj", "v_proj", "o_proj"};
  bool merge_lora = false;
  // --- bookkeeping
  int64_t save_every = 500;
  int64_t keep_checkpoints = 2;
  int64_t log_every = 1;
  int64_t figure_every = 100;  // 0: no figures
  int64_t figure_samples = 2;
  int64_t figure_words = 4;
  int64_t max_bad_steps = 10;  // non-finite steps in a row before the run stops
};

struct OptionSpec {
  std::string name;  // without dashes
  std::string help;
  bool is_flag = false;
  std::function<std::string(const TrainOptions&)> get;         // the value as text
  std::function<void(TrainOptions&, const std::string&)> set;  // throws for a bad value
};
const std::vector<OptionSpec>& train_option_specs();

// Applies a config file's object ({"name": value}, names as on the command line); unknown names
// and bad values are lavender::Error naming the file and the key.
void apply_config(TrainOptions& options, const nlohmann::json& config, const std::string& path);
// The options as such an object (written into the run's folder so a run can be repeated).
nlohmann::json options_json(const TrainOptions& options);
// Throws naming what is missing or contradictory. (Precision and sharding, which need LibTorch's
// types, are checked by ParameterUpdate::check_options; this library part has no LibTorch.)
void validate(const TrainOptions& options);

}  // namespace lavender::train
