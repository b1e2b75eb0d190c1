// Parity runner for the LLaVA fixture: one forward with every attention probability captured in
// full (decoder and vision tower), the loss when the fixture stores labels, and greedy generation
// on row 0 when it stores a generation to compare with.
#include <torch/torch.h>

#include "lavender/parity/parity.h"
#include "lavender/vlm/generate.h"
#include "lavender/vlm/llava.h"

namespace lavender::parity {

Outputs run_llava(const Fixture& f) {
  torch::NoGradGuard no_grad;
  auto model = vlm::load_llava(f.dir);
  vlm::LlavaInputs in;
  in.input_ids = f.tensor("input_ids");
  in.pixel_values = f.tensor("pixel_values");
  in.attention_mask = f.optional_tensor("attention_mask");
  in.labels = f.optional_tensor("labels");  // without labels: no loss, logits still checked

  vlm::LlavaCapture capture;
  capture.full_matrix = true;
  const int64_t text_layers = static_cast<int64_t>(model->model->language_model->num_layers());
  const int64_t vision_layers = model->model->vision_tower->num_layers();
  for (int64_t l = 0; l < text_layers; ++l) capture.layers.push_back(l);
  for (int64_t l = 0; l < vision_layers; ++l) capture.vision_layers.push_back(l);
  auto result = model->forward(in, &capture);

  Outputs out{{"logits", result.logits}, {"image_hidden_states", result.image_hidden_states}};
  if (result.loss.defined()) out["loss"] = result.loss.reshape({1});
  for (const auto& [layer, probs] : capture.probs) {
    out["lm_attentions." + std::to_string(layer)] = probs;
    out["hook.model.language_model.layers." + std::to_string(layer) + ".self_attn"] = probs;
  }
  for (const auto& [layer, probs] : capture.vision_probs)
    out["hook.model.vision_tower.encoder.layers." + std::to_string(layer) + ".self_attn"] = probs;

  // The reference generated greedily from row 0 alone; the new-token count is what it stored.
  if (!f.has("generate_row0")) return out;
  at::Tensor reference = f.tensor("generate_row0");
  vlm::GenerationOptions options;
  options.max_new_tokens = reference.size(1) - in.input_ids.size(1);
  auto defaults = vlm::load_generation_defaults(f.dir);
  options.eos_token_ids = defaults.eos_token_ids;
  options.pad_token_id = defaults.pad_token_id;
  at::Tensor mask0 = in.attention_mask.defined() ? in.attention_mask.narrow(0, 0, 1)
                                                 : at::ones_like(in.input_ids.narrow(0, 0, 1));
  out["generate_row0"] = vlm::generate_llava(*model, in.pixel_values.narrow(0, 0, 1),
                                             in.input_ids.narrow(0, 0, 1), mask0, options);
  return out;
}

}  // namespace lavender::parity
