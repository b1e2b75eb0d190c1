// LLaVA-1.5 (transformers LlavaForConditionalGeneration): a CLIP vision tower, a two-layer MLP
// projector, and a Llama decoder into whose embedding sequence the projected image features are
// written at the image-token positions. Module tree as transformers 5 names it:
// `model.vision_tower.*`, `model.multi_modal_projector.*`, `model.language_model.*`, `lm_head`;
// the 4.x layout (`language_model.model.*`, `vision_tower.vision_model.*`) loads through
// io::llava_key_rules().
//
// Attention on demand: a LlavaCapture names decoder layers; those layers return the softmax
// probabilities of the text rows × image columns block (or the whole matrix when asked), with
// gradients; the other layers keep the fast path.
#pragma once

#include <torch/nn/module.h>

#include <map>
#include <string>
#include <vector>

#include "lavender/io/config/llava.h"
#include "lavender/nn/linear.h"
#include "lavender/vlm/clip_vision.h"
#include "lavender/vlm/kv_cache.h"
#include "lavender/vlm/llama.h"

namespace lavender::vlm {

class LlavaProjectorImpl : public torch::nn::Module {
 public:
  LlavaProjectorImpl(int64_t in, int64_t out, std::string act, bool bias);
  at::Tensor forward(const at::Tensor& x);

  nn::Linear linear_1{nullptr}, linear_2{nullptr};

 private:
  std::string act_;
};
TORCH_MODULE(LlavaProjector);

struct LlavaInputs {
  at::Tensor input_ids;  // [B, T]
  // The same ids on the CPU when input_ids is on an accelerator: the image-token checks and the
  // capture's positions read them here instead of waiting for the device (undefined: input_ids).
  at::Tensor host_input_ids;
  at::Tensor pixel_values;    // [images, C, S, S]; undefined on decode steps
  at::Tensor attention_mask;  // [B, past + T] (1 = real token); undefined: no padding
  at::Tensor position_ids;    // [B, T]; undefined: past + arange(T)
  at::Tensor labels;          // [B, T] with -100 where no loss is taken; undefined: no loss
  // With labels: the LM head runs only at the positions the loss reads (training), and the
  // output's logits are those rows, [N, vocab] in row-major order (lm_head_and_loss).
  bool loss_logits_only = false;
  // attention_mask pads only at the ends of rows (LlamaForwardOptions::right_padded).
  bool right_padded = false;
};

struct LlavaCapture {
  // --- request ---
  std::vector<int64_t> layers;  // decoder layers, Python-style (-1 is the last)
  // The whole [B, heads, T, T] matrix instead of the text × image block (parity checks).
  bool full_matrix = false;
  // Vision tower layers whose full [images, heads, 1 + P, 1 + P] probabilities to keep.
  std::vector<int64_t> vision_layers;

  // --- results ---
  // Decoder layer (non-negative index) → [B, heads, n_rows, n_image]: rows are the query
  // positions query_begin .. T-1, columns each row's image tokens in order.
  std::map<int64_t, at::Tensor> probs;
  std::map<int64_t, at::Tensor> vision_probs;
  int64_t query_begin = 0;
  at::Tensor image_positions;  // [B, n_image] long: the key position of each column
  at::Tensor text_rows;        // [B, n_rows] bool: the row is a real text token (not image/pad)
};

struct LlavaOutput {
  at::Tensor logits;  // [B, T or logits_to_keep, vocab]; [N, vocab] with loss_logits_only
  at::Tensor loss;    // scalar mean CE over shifted labels != -100 (when labels)
  at::Tensor image_hidden_states;  // [images · tokens per image, hidden] projector output
};

class LlavaModelImpl : public torch::nn::Module {
 public:
  explicit LlavaModelImpl(const io::config::LlavaConfig& c);

  ClipVisionTransformer vision_tower{nullptr};
  LlavaProjector multi_modal_projector{nullptr};
  LlamaModel language_model{nullptr};
};
TORCH_MODULE(LlavaModel);

class LlavaForConditionalGenerationImpl : public torch::nn::Module {
 public:
  explicit LlavaForConditionalGenerationImpl(const io::config::LlavaConfig& c);

  // pixel_values → projected features [images, tokens per image, text hidden].
  at::Tensor image_features(const at::Tensor& pixel_values, LlavaCapture* capture = nullptr);
  // input_ids' embeddings with the image features written at the image-token positions. Throws
  // when the prompt has image tokens but no images come, or the counts differ (counted on
  // `host_ids`, the same ids on the CPU, when given).
  at::Tensor embed_inputs(const at::Tensor& input_ids, const at::Tensor& image_features,
                          const at::Tensor& host_ids = {});

  // `logits_to_keep` > 0 computes logits for the last that many positions only (generation).
  LlavaOutput forward(const LlavaInputs& inputs, LlavaCapture* capture = nullptr,
                      KvCache* cache = nullptr, int64_t logits_to_keep = 0);
  at::Tensor lm_logits(const at::Tensor& hidden);

  KvCache make_cache() const { return model->language_model->make_cache(); }
  const io::config::LlavaConfig& config() const { return config_; }
  // Tokens one image becomes (patches, plus the class token for the "full" strategy).
  int64_t tokens_per_image() const;

  LlavaModel model{nullptr};
  nn::Linear lm_head{nullptr};  // null when tied to the input embeddings

 private:
  io::config::LlavaConfig config_;
};
TORCH_MODULE(LlavaForConditionalGeneration);

// Builds the model from a Hugging Face folder (config.json + model.safetensors, single or
// sharded) and loads its weights strictly. An architecture other than LLaVA, or missing
// tensors, is a lavender::Error naming the folder and what is wrong.
// The model is built without random initialisation and each tensor goes straight to `dtype`
// on `device`: tensors already of that dtype on the CPU stay zero-copy views of the file, the
// others are converted one by one with the file's pages given back after each, so peak memory
// is about the model's size in `dtype`, not the fp32 model plus the file.
LlavaForConditionalGeneration load_llava(const std::string& folder,
                                         at::ScalarType dtype = at::kFloat,
                                         at::Device device = at::kCPU);

// The decoder layers whose text→image attention is read when none are named (training's
// --align-layers, eval's grounding): the middle half, layers L/4 up to 3L/4 - 1, of a decoder
// of 8 or more layers; every layer of a smaller one. Why: published analyses of LLaVA-1.5
// find its text-to-image localisation in the middle layers (early layers spread over the whole
// image, late ones settle on a few sink tokens), and a layer that is not read keeps fused
// causal attention without a dense mask (FlashAttention on GPUs), so half the decoder runs at
// full speed. LLaVA-1.5-7B/13B (32/40 layers): 8..23 / 10..29.
std::vector<int64_t> default_grounding_layers(int64_t num_layers);

}  // namespace lavender::vlm
