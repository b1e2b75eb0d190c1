// Exact parameter counts of the students' checkpoints from their config.json alone (no weights),
// part by part, as the Hub's safetensors hold them: LLaVA-1.5 (CLIP vision tower with its unused
// post-layernorm, the two-layer projector, the Llama decoder) and Llama 3.2 Vision (tiled vision
// encoder with its gated global layers, the projector, the decoder with cross-attention layers
// and 8 extra embedding rows). Checked tensor by tensor against the fixtures' checkpoints, and
// against the published totals (7,063,427,072 for llava-1.5-7b-hf; 10.67 B for
// Llama-3.2-11B-Vision).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lavender::vlm {

// One named linear layer inside the language model, repeated `count` times (what LoRA adapts).
struct LinearShape {
  std::string name;  // the module's last name: "q_proj", "k_proj", ...
  int64_t in = 0, out = 0, count = 0;
};

struct ParameterCount {
  std::string architecture;  // "LlavaForConditionalGeneration", ...
  int64_t vision = 0;        // the vision encoder (frozen by default)
  int64_t projector = 0;
  int64_t language = 0;  // decoder, embeddings, LM head
  // Of those, the parameters inside the repeated layers (decoder layers; vision encoder layers)
  // and the largest single layer: what --sharding full shards layer by layer.
  int64_t language_layers = 0, vision_layers = 0, largest_layer = 0;
  // The language model's attention projections, for LoRA's count.
  std::vector<LinearShape> attention_linears;
  // Widths the activation estimate needs.
  int64_t hidden_size = 0, num_layers = 0, num_heads = 0, vocab_size = 0;
  // Image positions per sample: in the sequence (LLaVA) or as cross-attention keys (mllama).
  int64_t image_tokens = 0;
  bool image_tokens_in_sequence = false;
  int64_t total() const { return vision + projector + language; }
};

// From a parsed config.json; `source` names it in errors. Throws lavender::Error for an
// architecture lavender has no student for.
ParameterCount count_parameters(const nlohmann::json& config, const std::string& source);
// From a model folder's (or a file's) config.json.
ParameterCount count_parameters(const std::string& path);

// Parameters LoRA of `rank` adds on the linears named in `targets`.
int64_t lora_parameters(const ParameterCount& count, int64_t rank,
                        const std::vector<std::string>& targets);

}  // namespace lavender::vlm
