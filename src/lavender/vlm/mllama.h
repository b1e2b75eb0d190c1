// Llama 3.2 Vision (transformers MllamaForConditionalGeneration): the tiled vision encoder, a
// linear projector to the text width, and the text model whose cross-attention layers read the
// projected features. Module tree as transformers 5 names it: `model.vision_model.*`,
// `model.multi_modal_projector.*`, `model.language_model.*`, `lm_head`; the 4.x layout
// (`vision_model.*`, `language_model.model.*`, `language_model.lm_head`) loads through
// io::mllama_key_rules().
//
// Attention on demand: for this cross-attention model the Lavender maps come from the
// cross-attention layers' probabilities over the image tokens ([B, heads, T, images·tiles·P]),
// which MllamaCapture returns for the layers it names; other layers keep the fast path.
#pragma once

#include <torch/nn/module.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "lavender/io/config/mllama.h"
#include "lavender/nn/linear.h"
#include "lavender/vlm/generate.h"
#include "lavender/vlm/mllama_text.h"
#include "lavender/vlm/mllama_vision.h"

namespace lavender::vlm {

struct MllamaInputs {
  at::Tensor input_ids;  // [B, T]
  // The same ids on the CPU when input_ids is on an accelerator: the host checks them there
  // instead of waiting for the device (undefined: input_ids).
  at::Tensor host_input_ids;
  at::Tensor pixel_values;          // [B, images, tiles, 3, S, S]; undefined on decode steps
  at::Tensor aspect_ratio_ids;      // [B, images]
  at::Tensor aspect_ratio_mask;     // [B, images, tiles]
  at::Tensor cross_attention_mask;  // [B, T, images, tiles] for this call's T positions
  at::Tensor attention_mask;        // [B, past + T] (1 = real token); undefined: no padding
  at::Tensor position_ids;          // [B, T]; undefined: past + arange(T)
  at::Tensor labels;                // [B, T], -100 where no loss is taken; undefined: no loss
  // With labels: the LM head runs only at the positions the loss reads (training), and the
  // output's logits are those rows, [N, vocab] in row-major order (lm_head_and_loss).
  bool loss_logits_only = false;
  // attention_mask pads only at the ends of rows (LlamaForwardOptions::right_padded).
  bool right_padded = false;
};

struct MllamaCapture {
  // --- request ---
  std::vector<int64_t> layers;          // decoder layers (Python-style negative indices allowed)
  std::set<std::string> vision_layers;  // "transformer.layers.N", "global_transformer.layers.N"
  // --- results ---
  // Layer → probabilities: cross-attention layers [B, heads, T, images·tiles·P] (tile-major,
  // P patches per tile, the class token first); self-attention layers [B, heads, T, past + T].
  std::map<int64_t, at::Tensor> probs;
  std::map<std::string, at::Tensor> vision_probs;
};

struct MllamaOutput {
  at::Tensor logits;  // [B, T or logits_to_keep, vocab]; [N, vocab] with loss_logits_only
  at::Tensor loss;    // scalar (when labels are given)
};

class MllamaModelImpl : public torch::nn::Module {
 public:
  explicit MllamaModelImpl(const io::config::MllamaConfig& c);

  MllamaVisionModel vision_model{nullptr};
  nn::Linear multi_modal_projector{nullptr};
  MllamaTextModel language_model{nullptr};
};
TORCH_MODULE(MllamaModel);

class MllamaForConditionalGenerationImpl : public torch::nn::Module {
 public:
  explicit MllamaForConditionalGenerationImpl(const io::config::MllamaConfig& c);

  // Projected image features [B, images·tiles·P, text hidden].
  at::Tensor image_states(const MllamaInputs& inputs, MllamaCapture* capture = nullptr);
  MllamaOutput forward(const MllamaInputs& inputs, MllamaCapture* capture = nullptr,
                       MllamaCache* cache = nullptr, int64_t logits_to_keep = 0);
  MllamaCache make_cache() const { return model->language_model->make_cache(); }
  const io::config::MllamaConfig& config() const { return config_; }

  MllamaModel model{nullptr};
  nn::Linear lm_head{nullptr};

 private:
  io::config::MllamaConfig config_;
};
TORCH_MODULE(MllamaForConditionalGeneration);

// Generation from a prompt with images (`prompt.pixel_values`, aspect-ratio ids and mask,
// cross_attention_mask [B, T, images, tiles]); new tokens see the images the prompt's last token
// sees, as transformers extends the mask. Returns [B, T + generated].
at::Tensor generate_mllama(MllamaForConditionalGenerationImpl& model, const MllamaInputs& prompt,
                           const GenerationOptions& options);

// Builds the model from a Hugging Face folder and loads its weights strictly; another
// architecture or missing tensors are a lavender::Error naming the folder and the problem.
// The model is built without random initialisation and each tensor goes straight to `dtype`
// on `device`: tensors already of that dtype on the CPU stay zero-copy views of the file, the
// others are converted one by one with the file's pages given back after each, so peak memory
// is about the model's size in `dtype`, not the fp32 model plus the file.
MllamaForConditionalGeneration load_mllama(const std::string& folder,
                                           at::ScalarType dtype = at::kFloat,
                                           at::Device device = at::kCPU);

}  // namespace lavender::vlm
