#include "lavender/vlm/generate.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "lavender/io/json_file.h"
#include "lavender/util/error.h"
#include "lavender/vlm/llama.h"
#include "lavender/vlm/llava.h"

namespace lavender::vlm {
namespace {

// eos_token_id as one id or a list; false when the key is absent.
bool read_ids(const nlohmann::json& j, const char* key, std::vector<int64_t>* out) {
  if (!j.is_object() || !j.contains(key)) return false;
  const auto& v = j[key];
  out->clear();
  if (v.is_number_integer()) {
    out->push_back(v.get<int64_t>());
  } else if (v.is_array()) {
    for (const auto& e : v)
      if (e.is_number_integer()) out->push_back(e.get<int64_t>());
  } else if (!v.is_null()) {
    return false;
  }
  return true;
}

bool read_id(const nlohmann::json& j, const char* key, int64_t* out) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_number_integer()) return false;
  *out = j[key].get<int64_t>();
  return true;
}

}  // namespace

GenerationDefaults load_generation_defaults(const std::string& folder) {
  GenerationDefaults d;
  std::vector<nlohmann::json> sources;
  const std::string gen = folder + "/generation_config.json";
  if (std::filesystem::is_regular_file(gen)) sources.push_back(io::read_json_file(gen));
  nlohmann::json config = io::read_json_file(folder + "/config.json");
  sources.push_back(config);
  if (config.is_object() && config.contains("text_config"))
    sources.push_back(config["text_config"]);
  bool have_eos = false, have_pad = false;
  for (const auto& j : sources) {
    if (!have_eos) have_eos = read_ids(j, "eos_token_id", &d.eos_token_ids);
    if (!have_pad) have_pad = read_id(j, "pad_token_id", &d.pad_token_id);
  }
  // Like transformers, a missing pad id falls back to the (first) end-of-sequence id.
  if (!have_pad && !d.eos_token_ids.empty()) d.pad_token_id = d.eos_token_ids[0];
  return d;
}

at::Tensor next_tokens(const at::Tensor& logits, const GenerationOptions& o,
                       at::Generator* generator) {
  if (!o.do_sample) return logits.argmax(-1);
  // The warpers in transformers' order: temperature, top-k, top-p; then sample.
  at::Tensor scores = logits.to(torch::kFloat);
  if (o.temperature <= 0) throw Error("generate: temperature must be positive when sampling");
  scores = scores / o.temperature;
  const float neg_inf = -std::numeric_limits<float>::infinity();
  if (o.top_k > 0 && o.top_k < scores.size(-1)) {
    at::Tensor kth = std::get<0>(scores.topk(o.top_k, -1)).select(-1, -1).unsqueeze(-1);
    scores = scores.masked_fill(scores < kth, neg_inf);
  }
  if (o.top_p < 1.0) {
    auto [sorted, order] = scores.sort(-1, /*descending=*/false);
    at::Tensor cumulative = sorted.softmax(-1).cumsum(-1);
    // Drop the low-probability tail holding at most 1 - top_p of the mass; keep the top token.
    at::Tensor remove = cumulative <= (1.0 - o.top_p);
    remove.select(-1, -1).fill_(false);
    scores = scores.masked_fill(remove.scatter(-1, order, remove), neg_inf);
  }
  at::Tensor probs = scores.softmax(-1).cpu();
  return at::multinomial(probs, 1, /*replacement=*/false, *generator)
      .squeeze(-1)
      .to(logits.device());
}

at::Tensor generate(const StepFunction& step, KvCache* cache, const at::Tensor& input_ids,
                    const at::Tensor& attention_mask, const GenerationOptions& o) {
  if (input_ids.dim() != 2) throw Error("generate: input_ids must be [batch, tokens]");
  if (o.use_cache && (!cache || cache->length() != 0))
    throw Error("generate: use_cache needs an empty KV cache of the model");
  torch::NoGradGuard no_grad;
  const int64_t b = input_ids.size(0);
  at::Tensor ids = input_ids.to(torch::kLong);
  at::Tensor mask = attention_mask.defined() ? attention_mask.to(ids.device(), torch::kLong)
                                             : torch::ones_like(ids);
  at::Tensor eos = torch::tensor(o.eos_token_ids, ids.options());
  at::Tensor unfinished = torch::ones({b}, ids.options().dtype(torch::kBool));
  at::Generator generator = at::detail::createCPUGenerator(o.seed);

  for (int64_t i = 0; i < o.max_new_tokens; ++i) {
    at::Tensor positions = position_ids_from_mask(mask);
    at::Tensor logits;
    if (o.use_cache) {
      // The prompt once, then only the newest token against the cache.
      const bool first = i == 0;
      at::Tensor step_ids = first ? ids : ids.slice(1, -1);
      logits = step(step_ids, mask, positions.slice(1, positions.size(1) - step_ids.size(1)), first,
                    cache);
    } else {
      logits = step(ids, mask, positions, /*first=*/true, nullptr);
    }
    at::Tensor next = next_tokens(logits, o, &generator);
    // Rows already ended keep emitting padding.
    next = torch::where(unfinished, next, torch::full_like(next, o.pad_token_id));
    ids = torch::cat({ids, next.unsqueeze(1)}, 1);
    mask = torch::cat({mask, torch::ones({b, 1}, mask.options())}, 1);
    if (eos.numel() > 0) unfinished = unfinished & torch::isin(next, eos).logical_not();
    if (!unfinished.any().item<bool>()) break;
  }
  return ids;
}

at::Tensor generate_llava(LlavaForConditionalGenerationImpl& model, const at::Tensor& pixel_values,
                          const at::Tensor& input_ids, const at::Tensor& attention_mask,
                          const GenerationOptions& options) {
  KvCache cache = model.make_cache();
  StepFunction step = [&](const at::Tensor& ids, const at::Tensor& mask,
                          const at::Tensor& positions, bool first, KvCache* c) {
    LlavaInputs in;
    in.input_ids = ids;
    in.attention_mask = mask;
    in.position_ids = positions;
    if (first) in.pixel_values = pixel_values;
    return model.forward(in, nullptr, c, /*logits_to_keep=*/1).logits.select(1, -1);
  };
  return generate(step, options.use_cache ? &cache : nullptr, input_ids, attention_mask, options);
}

}  // namespace lavender::vlm
