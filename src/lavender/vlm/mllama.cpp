#include "lavender/vlm/mllama.h"

#include <torch/torch.h>

#include "lavender/io/checkpoint.h"
#include "lavender/io/json_file.h"
#include "lavender/io/load_state_dict.h"
#include "lavender/nn/init_guard.h"
#include "lavender/util/error.h"
#include "lavender/vlm/hf_architecture.h"
#include "lavender/vlm/lm_loss.h"

namespace lavender::vlm {
namespace {

int64_t resolve_layer(int64_t layer, int64_t n) {
  const int64_t i = layer < 0 ? layer + n : layer;
  if (i < 0 || i >= n)
    throw Error("mllama: capture layer " + std::to_string(layer) + " outside the " +
                std::to_string(n) + " decoder layers");
  return i;
}

}  // namespace

MllamaModelImpl::MllamaModelImpl(const io::config::MllamaConfig& c) {
  vision_model = register_module("vision_model", MllamaVisionModel(c.vision_config));
  multi_modal_projector =
      register_module("multi_modal_projector",
                      nn::Linear(c.vision_config.vision_output_dim, c.text_config.hidden_size));
  language_model = register_module("language_model", MllamaTextModel(c.text_config));
}

MllamaForConditionalGenerationImpl::MllamaForConditionalGenerationImpl(
    const io::config::MllamaConfig& c)
    : config_(c) {
  model = register_module("model", MllamaModel(c));
  lm_head = register_module(
      "lm_head",
      nn::Linear(torch::nn::LinearOptions(c.text_config.hidden_size, c.text_config.vocab_size)
                     .bias(false)));
}

at::Tensor MllamaForConditionalGenerationImpl::image_states(const MllamaInputs& in,
                                                            MllamaCapture* capture) {
  if (!in.aspect_ratio_ids.defined() || !in.aspect_ratio_mask.defined())
    throw Error("mllama: pixel_values need aspect_ratio_ids and aspect_ratio_mask");
  VisionAttentionCapture vision;
  if (capture) vision.layers = capture->vision_layers;
  at::Tensor features = model->vision_model->forward(in.pixel_values, in.aspect_ratio_ids,
                                                     in.aspect_ratio_mask, &vision);
  if (capture) capture->vision_probs = std::move(vision.probs);
  const int64_t b = features.size(0);
  return model->multi_modal_projector(features).reshape({b, -1, config_.text_config.hidden_size});
}

MllamaOutput MllamaForConditionalGenerationImpl::forward(const MllamaInputs& in,
                                                         MllamaCapture* capture, MllamaCache* cache,
                                                         int64_t logits_to_keep) {
  if (!in.input_ids.defined() || in.input_ids.dim() != 2)
    throw Error("mllama: input_ids must be [batch, tokens]");
  auto& text = model->language_model;
  at::Tensor ids = in.input_ids.to(torch::kLong);
  // The checks read the ids on the host, from a CPU copy when the caller has one.
  const at::Tensor host_ids = in.host_input_ids.defined() ? in.host_input_ids : ids;
  const int64_t vocab_rows = text->embed_tokens->weight.size(0);
  if (host_ids.numel() > 0 &&
      (host_ids.min().item<int64_t>() < 0 || host_ids.max().item<int64_t>() >= vocab_rows))
    throw Error("mllama: token id outside the embedding's " + std::to_string(vocab_rows) + " rows");
  const bool has_image_token = (host_ids == config_.image_token_index).any().item<bool>();
  if (has_image_token && !in.pixel_values.defined() && !(cache && cache->has_image_kv()))
    throw Error("mllama: the prompt has image tokens but no pixel_values were given");

  MllamaTextOptions o;
  o.attention_mask = in.attention_mask;
  o.position_ids = in.position_ids;
  o.right_padded = in.right_padded;
  o.cache = cache;
  if (in.pixel_values.defined()) o.image_states = image_states(in, capture);
  if (o.image_states.defined() || (cache && cache->has_image_kv())) {
    if (!in.cross_attention_mask.defined())
      throw Error("mllama: images need a cross_attention_mask [batch, tokens, images, tiles]");
    std::tie(o.cross_mask, o.row_mask) = prepare_cross_attention_mask(
        in.cross_attention_mask, model->vision_model->patches_per_tile(),
        text->embed_tokens->weight.scalar_type());
  }

  const auto n = static_cast<int64_t>(text->layers->size());
  std::map<int64_t, nn::AttentionCapture> slots;
  if (capture)
    for (int64_t layer : capture->layers) slots[resolve_layer(layer, n)];
  if (!slots.empty()) {
    o.captures.assign(static_cast<size_t>(n), nullptr);
    for (auto& [i, slot] : slots) o.captures[static_cast<size_t>(i)] = &slot;
  }

  at::Tensor hidden = text->forward(text->embed(ids), o);
  MllamaOutput out;
  LmHeadOutput head = lm_head_and_loss(hidden, in.labels, in.loss_logits_only, logits_to_keep,
                                       [this](const at::Tensor& h) { return lm_head(h); });
  out.logits = head.logits;
  out.loss = head.loss;
  if (capture)
    for (auto& [i, slot] : slots)
      if (slot.probs.defined()) capture->probs[i] = slot.probs;
  return out;
}

at::Tensor generate_mllama(MllamaForConditionalGenerationImpl& model, const MllamaInputs& prompt,
                           const GenerationOptions& options) {
  if (!prompt.cross_attention_mask.defined() && prompt.pixel_values.defined())
    throw Error("mllama generate: images need a cross_attention_mask");
  MllamaCache cache = model.make_cache();
  const int64_t prompt_len = prompt.input_ids.size(1);
  // The tile mask rows for positions [begin, end): the prompt's, then its last row repeated.
  auto tile_rows = [&](int64_t begin, int64_t end) -> at::Tensor {
    const at::Tensor& m = prompt.cross_attention_mask;
    if (!m.defined()) return {};
    at::Tensor last = m.narrow(1, prompt_len - 1, 1);
    std::vector<at::Tensor> parts;
    if (begin < prompt_len) parts.push_back(m.narrow(1, begin, std::min(end, prompt_len) - begin));
    if (end > prompt_len)
      parts.push_back(
          last.expand({m.size(0), end - std::max(begin, prompt_len), m.size(2), m.size(3)}));
    return torch::cat(parts, 1);
  };
  StepFunction step = [&](const at::Tensor& ids, const at::Tensor& mask,
                          const at::Tensor& positions, bool first, KvCache* c) {
    MllamaInputs in;
    in.input_ids = ids;
    in.attention_mask = mask;
    in.position_ids = positions;
    const int64_t end = mask.size(1);
    in.cross_attention_mask = tile_rows(end - ids.size(1), end);
    if (first) {
      in.pixel_values = prompt.pixel_values;
      in.aspect_ratio_ids = prompt.aspect_ratio_ids;
      in.aspect_ratio_mask = prompt.aspect_ratio_mask;
    }
    return model.forward(in, nullptr, c ? &cache : nullptr, /*logits_to_keep=*/1)
        .logits.select(1, -1);
  };
  return generate(step, options.use_cache ? &cache.self : nullptr, prompt.input_ids,
                  prompt.attention_mask, options);
}

MllamaForConditionalGeneration load_mllama(const std::string& folder, at::ScalarType dtype,
                                           at::Device device) {
  const std::string config_path = folder + "/config.json";
  nlohmann::json j = io::read_json_file(config_path);
  check_architecture(j, config_path, "MllamaForConditionalGeneration", "mllama");
  auto config = io::config::parse_mllama_config(j, config_path);
  // Built without drawing initial values: every parameter is about to be loaded.
  MllamaForConditionalGeneration m = [&] {
    nn::SkipInitGuard skip_init;
    return MllamaForConditionalGeneration(config);
  }();
  io::LoadOptions options;
  options.key_rules = io::mllama_key_rules();
  options.ignore_unexpected = {R"(\.rotary_emb\.inv_freq$)"};
  io::load_model_weights(*m, folder, options, dtype, device);
  return m;
}

}  // namespace lavender::vlm
