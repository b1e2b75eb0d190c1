// Autoregressive generation for the VLMs: greedy decoding, or sampling with temperature, top-k
// and top-p from a seeded generator, with a KV cache (prefill the prompt once, then one position
// per step) or without (the whole sequence every step, for comparison). Rows that reach an
// end-of-sequence id are padded from then on, and decoding stops when every row has ended.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lavender/vlm/kv_cache.h"

namespace lavender::vlm {

class LlavaForConditionalGenerationImpl;

struct GenerationOptions {
  int64_t max_new_tokens = 128;
  bool do_sample = false;  // false: greedy (arg-max)
  double temperature = 1.0;
  int64_t top_k = 0;   // 0: off
  double top_p = 1.0;  // 1: off
  uint64_t seed = 0;
  std::vector<int64_t> eos_token_ids;
  int64_t pad_token_id = 0;
  bool use_cache = true;
};

// Token ids a model folder declares: generation_config.json first, config.json (or its
// text_config) where that file is absent or silent.
struct GenerationDefaults {
  std::vector<int64_t> eos_token_ids;
  int64_t pad_token_id = 0;
};
GenerationDefaults load_generation_defaults(const std::string& folder);

// One forward of the model on `input_ids` [B, T'] — the prompt on the first call, then each new
// token — with the padding mask over every position so far [B, past + T'] and position ids
// [B, T']. `first` says the call covers the prompt (image inputs go in). Returns the logits of the
// last position [B, vocab]. `cache` is null when generating without one.
using StepFunction =
    std::function<at::Tensor(const at::Tensor& input_ids, const at::Tensor& attention_mask,
                             const at::Tensor& position_ids, bool first, KvCache* cache)>;

// input_ids/attention_mask [B, T] (mask undefined: all real tokens; left padding is the usual
// layout for batches). Returns [B, T + generated] ids. `cache` must be an empty cache of the
// model when options.use_cache, and is ignored otherwise.
at::Tensor generate(const StepFunction& step, KvCache* cache, const at::Tensor& input_ids,
                    const at::Tensor& attention_mask, const GenerationOptions& options);

// Picks the next token from last-position logits [B, V] as `options` say (greedy or sampled).
at::Tensor next_tokens(const at::Tensor& logits, const GenerationOptions& options,
                       at::Generator* generator);

// LLaVA: pixel_values [images, C, S, S] for the images of the prompt.
at::Tensor generate_llava(LlavaForConditionalGenerationImpl& model, const at::Tensor& pixel_values,
                          const at::Tensor& input_ids, const at::Tensor& attention_mask,
                          const GenerationOptions& options);

}  // namespace lavender::vlm
