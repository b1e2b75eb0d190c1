// OpenFlamingo (Awadalla et al. 2023): a frozen CLIP ViT whose patch tokens a Perceiver
// resampler turns into a few latents per image, and a frozen MPT decoder with gated
// cross-attention layers before chosen blocks, through which text tokens read the latents of the
// last `<image>` before them. The release ships three parts — the CLIP vision tower, the MPT
// language model, and `checkpoint.pt` with the trainable weights (Perceiver, gated layers, the
// resized token embedding) — which load_open_flamingo() puts together.
//
// Module tree: `vision_encoder.*` (CLIPVisionModel's `vision_model.*`), `perceiver.*` and
// `lang_encoder.transformer.*` under the release's names, and `gated_cross_attn_layers.{i}.*`
// for the checkpoint's `lang_encoder.transformer.blocks.{i}.gated_cross_attn_layer.*`.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/moduledict.h>

#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "lavender/io/config/open_flamingo.h"
#include "lavender/vlm/clip_image_processor.h"
#include "lavender/vlm/clip_vision.h"
#include "lavender/vlm/gated_cross_attention.h"
#include "lavender/vlm/generate.h"
#include "lavender/vlm/mpt.h"
#include "lavender/vlm/perceiver_resampler.h"

namespace lavender::vlm {

struct OpenFlamingoInputs {
  at::Tensor vision_x;        // [B, T_img, 1, 3, S, S]; may be undefined when `media` is given
  at::Tensor input_ids;       // [B, T]
  at::Tensor attention_mask;  // [B, past + T], 1 on real tokens; undefined: no padding
  at::Tensor labels;          // [B, T], -100 where no loss is taken; undefined: no loss
  at::Tensor media;           // [B, T_img, latents, D] already resampled (generation); optional
  // Which image each token reads ([B, T] long, media_time()); undefined: from input_ids.
  at::Tensor text_time;
};

struct OpenFlamingoCapture {
  // --- request ---
  bool vision = false;                // vision_features, perceiver_out, perceiver_attn
  std::vector<int64_t> xattn_layers;  // decoder indices whose cross-attention probs to keep
  // --- results ---
  at::Tensor vision_features;              // [B·T_img, P, D] patch tokens before post_layernorm
  at::Tensor perceiver_out;                // [B, T_img, latents, D]
  std::vector<at::Tensor> perceiver_attn;  // per layer [B·T_img, heads, latents, P + latents]
  std::map<int64_t, at::Tensor> xattn;     // [B, heads, T, T_img·latents]
};

struct OpenFlamingoOutput {
  at::Tensor logits;  // [B, T, vocab]
  at::Tensor loss;    // scalar mean CE over shifted labels != -100 (when labels)
};

class OpenFlamingoImpl : public torch::nn::Module {
 public:
  OpenFlamingoImpl(const io::config::OpenFlamingoConfig& config,
                   const io::config::ClipVisionConfig& vision, const io::config::MptConfig& lang,
                   const std::vector<int64_t>& gated_layers);

  // vision_x [B, T_img, 1, 3, S, S] → resampled latents [B, T_img, latents, D].
  at::Tensor encode_vision(const at::Tensor& vision_x, OpenFlamingoCapture* capture = nullptr);
  OpenFlamingoOutput forward(const OpenFlamingoInputs& inputs,
                             OpenFlamingoCapture* capture = nullptr, KvCache* cache = nullptr);

  KvCache make_cache() const { return lang_encoder->make_cache(); }
  // Recompute the gated layers' and the MPT blocks' activations in backward (training).
  void set_gradient_checkpointing(bool on) { lang_encoder->set_gradient_checkpointing(on); }
  // Hooks around every vision layer, gated cross-attention layer and MPT block
  // (nn/layer_hooks.h): each gated layer is a layer of its own, run just before its block.
  void set_layer_hooks(nn::LayerHooks* hooks);
  const io::config::OpenFlamingoConfig& config() const { return config_; }
  const std::vector<int64_t>& gated_layers() const { return gated_layers_; }

  ClipVisionTransformer vision_encoder{nullptr};
  PerceiverResampler perceiver{nullptr};
  MptForCausalLM lang_encoder{nullptr};
  torch::nn::ModuleDict gated_cross_attn_layers{nullptr};

 private:
  io::config::OpenFlamingoConfig config_;
  std::vector<int64_t> gated_layers_;
  nn::LayerHooks* layer_hooks_ = nullptr;
};
TORCH_MODULE(OpenFlamingo);

// Greedy or sampled generation as the release's generate() does it: the images encoded once,
// the prompt's tokens reading the image before each, and every new token reading the last image
// of the prompt (a new token that is itself <image> reads the first image, as the release's
// cached-media logic has it). Stops at eos_token_ids (default: <|endofchunk|>). `step_logits`:
// when non-null, gets each step's last-position logits [B, vocab].
at::Tensor generate_open_flamingo(OpenFlamingoImpl& model, const at::Tensor& vision_x,
                                  const at::Tensor& input_ids, const at::Tensor& attention_mask,
                                  GenerationOptions options,
                                  std::vector<at::Tensor>* step_logits = nullptr);

// Loads an OpenFlamingo folder: root config.json (io/config/open_flamingo.h), the vision folder
// (config.json + safetensors), the MPT folder (config.json + pytorch_model.bin or safetensors),
// then the checkpoint over them (its wte replaces the language model's). Sizes in the config are
// checked against the checkpoint's shapes; a language model other than MPT (mosaic_gpt), a
// mismatch, or a missing tensor is a lavender::Error naming the file and the problem. A folder
// lavender saved after training (its config.json carries "vision_config" and "lang_config",
// beside one safetensors checkpoint of the whole model under the module names) loads too.
OpenFlamingo load_open_flamingo(const std::string& folder, at::ScalarType dtype = at::kFloat,
                                at::Device device = at::kCPU);

// Checks a root config (`root`, as FOLDER/config.json holds it; its parts' paths relative to
// FOLDER or absolute) against the parts as load_open_flamingo does before it builds the model:
// the vision and language models' configs, and `checkpoint`, the tensors of the checkpoint file
// the config names (already read: the release's is gigabytes). Throws lavender::Error naming the
// field, the file and the tensor that disagree.
void check_open_flamingo_config(const std::string& folder, const nlohmann::json& root,
                                const std::map<std::string, at::Tensor>& checkpoint);

// A language model's config.json, refused by name unless it is an MPT (model_type "mosaic_gpt"
// or "mpt"), which is all lavender runs inside OpenFlamingo.
io::config::MptConfig load_open_flamingo_lang_config(const std::string& path);

// The folder whose tokenizer.json an OpenFlamingo folder uses: its own when it has one, else its
// language model's (the release keeps the tokenizer with the LM).
std::string open_flamingo_tokenizer_folder(const std::string& folder);

// open_clip's preprocessing is CLIP's (bicubic shortest-edge resize, centre crop, the OpenAI mean
// and std) at the vision tower's input size; a preprocessor_config.json in the folder overrides it.
ClipImageProcessor open_flamingo_image_processor(const std::string& folder,
                                                 const OpenFlamingoImpl& model);

}  // namespace lavender::vlm
