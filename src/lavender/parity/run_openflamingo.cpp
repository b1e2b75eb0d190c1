// Parity runner for the OpenFlamingo fixture: one forward capturing the vision features, the
// Perceiver's output and attention, and every gated cross-attention's probabilities; then greedy
// generation from row 0's prompt as the reference ran it (prompt length and new-token count read
// from the stored ids).
#include <torch/torch.h>

#include "lavender/parity/parity.h"
#include "lavender/vlm/open_flamingo.h"

namespace lavender::parity {

Outputs run_openflamingo(const Fixture& f) {
  torch::NoGradGuard no_grad;
  auto model = vlm::load_open_flamingo(f.dir);
  vlm::OpenFlamingoInputs in;
  in.vision_x = f.tensor("vision_x");
  in.input_ids = f.tensor("input_ids");
  in.attention_mask = f.optional_tensor("attention_mask");
  in.labels = f.optional_tensor("labels");
  vlm::OpenFlamingoCapture capture;
  capture.vision = true;
  capture.xattn_layers = model->gated_layers();
  auto result = model->forward(in, &capture);

  Outputs out{{"logits", result.logits},
              {"vision_features", capture.vision_features},
              {"perceiver_out", capture.perceiver_out}};
  if (result.loss.defined()) out["loss"] = result.loss.reshape({1});
  for (size_t d = 0; d < capture.perceiver_attn.size(); ++d)
    out["perceiver_attn." + std::to_string(d)] = capture.perceiver_attn[d];
  for (const auto& [layer, probs] : capture.xattn) out["xattn." + std::to_string(layer)] = probs;

  if (!f.has("greedy_ids")) return out;
  const at::Tensor reference = f.tensor("greedy_ids");
  // The reference's prompt is the start of row 0; the step logits say how many tokens it added.
  const int64_t new_tokens =
      f.has("greedy_step_logits") ? f.tensor("greedy_step_logits").size(0) : reference.size(1) - 1;
  const int64_t prompt = reference.size(1) - new_tokens;
  vlm::GenerationOptions options;
  options.max_new_tokens = new_tokens;
  options.pad_token_id = model->config().pad_token_id.value_or(0);
  std::vector<at::Tensor> steps;
  at::Tensor ids0 = in.input_ids.narrow(0, 0, 1).narrow(1, 0, prompt);
  out["greedy_ids"] = vlm::generate_open_flamingo(*model, in.vision_x.narrow(0, 0, 1), ids0,
                                                  at::ones_like(ids0), options, &steps);
  out["greedy_step_logits"] = torch::cat(steps, 0);
  return out;
}

}  // namespace lavender::parity
