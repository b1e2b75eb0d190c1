// Parity runner for the mllama fixture: one forward with every decoder layer's attention
// probabilities (self- and cross-attention) and every vision layer's captured; the loss too when
// the fixture stores labels.
#include <torch/torch.h>

#include "lavender/parity/parity.h"
#include "lavender/vlm/mllama.h"

namespace lavender::parity {

Outputs run_mllama(const Fixture& f) {
  torch::NoGradGuard no_grad;
  auto model = vlm::load_mllama(f.dir);
  vlm::MllamaInputs in;
  in.input_ids = f.tensor("input_ids");
  in.pixel_values = f.tensor("pixel_values");
  in.aspect_ratio_ids = f.tensor("aspect_ratio_ids");
  in.aspect_ratio_mask = f.tensor("aspect_ratio_mask");
  in.cross_attention_mask = f.tensor("cross_attention_mask");
  in.attention_mask = f.optional_tensor("attention_mask");
  in.labels = f.optional_tensor("labels");

  vlm::MllamaCapture capture;
  auto& text = model->model->language_model;
  const auto n = static_cast<int64_t>(text->layers->size());
  for (int64_t l = 0; l < n; ++l) capture.layers.push_back(l);
  const auto& vc = model->config().vision_config;
  for (int64_t l = 0; l < vc.num_hidden_layers; ++l)
    capture.vision_layers.insert("transformer.layers." + std::to_string(l));
  for (int64_t l = 0; l < vc.num_global_layers; ++l)
    capture.vision_layers.insert("global_transformer.layers." + std::to_string(l));
  auto result = model->forward(in, &capture);

  Outputs out{{"logits", result.logits}};
  if (result.loss.defined()) out["loss"] = result.loss.reshape({1});
  for (const auto& [layer, probs] : capture.probs) {
    const bool cross = text->is_cross_attention_layer(static_cast<size_t>(layer));
    out["lm_attentions." + std::to_string(layer)] = probs;
    out["hook.model.language_model.layers." + std::to_string(layer) +
        (cross ? ".cross_attn" : ".self_attn")] = probs;
  }
  for (const auto& [layer, probs] : capture.vision_probs)
    out["hook.model.vision_model." + layer + ".self_attn"] = probs;
  return out;
}

}  // namespace lavender::parity
