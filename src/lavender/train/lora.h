// LoRA fine-tuning on the VLM side: injecting adapters into nn::Linear layers by module name, and
// the PEFT adapter folder (`adapter_config.json` + `adapter_model.safetensors`) that
// `peft.PeftModel.from_pretrained(base, dir)` loads.
//
// Matching follows PEFT's list form of `target_modules`: a module is a target when its full
// name equals an entry or ends with "." + entry. `exclude` drops modules that sit inside a module
// of that name (any path component). The default excludes the vision tower and the projector
// (LLaVA's `vision_tower` / `multi_modal_projector`, Llama 3.2 Vision's `vision_model`,
// MiniCPM-V's `vpm` / `resampler`), because the Lavender LoRA runs adapt the language model
// only: without it, "q_proj" would also catch the CLIP / Mllama / SigLIP vision attention.
//
// Module names are this project's module tree, which is transformers 5's layout
// (`model.language_model.layers.N.self_attn.q_proj`, `lm_head`); PEFT's saved keys prefix them
// with `base_model.model.`.
#pragma once

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

#include "lavender/io/load_state_dict.h"

namespace torch::nn {
class Module;
}

namespace lavender::train {

struct LoraConfig {
  int rank = 8;
  double alpha = 16;
  double dropout = 0.05;
  std::vector<std::string> target_modules{"q_proj", "k_proj", "v_proj", "o_proj"};
  // Language model only by default (see above).
  std::vector<std::string> exclude{"vision_tower", "vision_model", "multi_modal_projector", "vpm",
                                   "resampler"};
  // scale alpha/√r instead of alpha/r (PEFT's use_rslora; off by default there too).
  bool use_rslora = false;
  // Instead of target_modules/exclude: a regex the whole module name must match (PEFT's string
  // form of target_modules, re.fullmatch). Set by load_peft_adapter for such configs.
  std::string target_regex;
};

// Whether `name` (a full module name) is adapted under `cfg`.
bool lora_targets(const LoraConfig& cfg, const std::string& name);

// Adds an adapter to every nn::Linear under `root` whose name `lora_targets` accepts (adapters
// already present are an error). Returns the adapted module names in module order. Throws
// lavender::Error naming the patterns when nothing matches.
std::vector<std::string> inject_lora(torch::nn::Module& root, const LoraConfig& cfg);

// (name, parameter) for every lora_A / lora_B weight under `root`, in module order; names are
// full parameter names (`...q_proj.lora_A.weight`).
std::vector<std::pair<std::string, at::Tensor>> lora_parameters(torch::nn::Module& root);

// Folds every adapter under `root` into its base weight (nn::Linear::merge_lora); returns how
// many were merged.
int merge_all_lora(torch::nn::Module& root);

// PEFT's `target_modules` value for `cfg`: the plain list when nothing is excluded, else a regex
// (PEFT's string form) that keeps the same modules, written so that it also holds for the
// transformers 4.x LLaVA layout (`language_model.model.layers...`).
std::string peft_target_regex(const LoraConfig& cfg);

// Writes `dir`/adapter_config.json and `dir`/adapter_model.safetensors (each atomically; the
// weights first, so a crash never leaves a config without its weights). Creates `dir`. Throws if
// `root` has no adapters.
void save_peft_adapter(const std::string& dir, torch::nn::Module& root, const LoraConfig& cfg,
                       const std::string& base_model_name);

// Reads a PEFT LoRA adapter folder, injects adapters into `root` as its config says, and copies
// the saved weights in (cast to each adapter's dtype/device). Returns the config read. Throws
// lavender::Error naming the file for: a missing file, a non-LoRA or unsupported config (DoRA,
// bias training, fan_in_fan_out, rank/alpha patterns, modules_to_save), a tensor for a module
// that has no adapter, an adapter without its tensor, or a shape mismatch.
// `key_rules` rewrite the saved module paths (after `base_model.model.`) onto this module tree,
// e.g. io::llava_key_rules() for adapters trained on transformers 4.x's LLaVA layout; a regex
// `target_modules` is matched against this tree's names as written.
LoraConfig load_peft_adapter(const std::string& dir, torch::nn::Module& root,
                             const std::vector<io::KeyRule>& key_rules = {});

}  // namespace lavender::train
