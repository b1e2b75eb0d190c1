#include "lavender/vlm/llava.h"

#include <torch/torch.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "lavender/io/json_file.h"
#include "lavender/io/load_state_dict.h"
#include "lavender/nn/activations.h"
#include "lavender/nn/init_guard.h"
#include "lavender/util/error.h"
#include "lavender/vlm/hf_architecture.h"
#include "lavender/vlm/lm_loss.h"

namespace lavender::vlm {
namespace {

// A Python-style index into `size` entries, checked.
int64_t resolve_index(int64_t index, int64_t size, const char* what) {
  int64_t i = index < 0 ? index + size : index;
  if (i < 0 || i >= size)
    throw Error(std::string("LLaVA: ") + what + " " + std::to_string(index) + " out of range for " +
                std::to_string(size));
  return i;
}

// The per-row image-token positions [B, n] (each row must hold the same number).
at::Tensor image_positions(const at::Tensor& is_image) {
  const int64_t b = is_image.size(0);
  at::Tensor counts = is_image.sum(1);
  const int64_t n = counts[0].item<int64_t>();
  if (!at::equal(counts, torch::full_like(counts, n)))
    throw Error("LLaVA attention capture: rows hold different numbers of image tokens");
  if (n == 0) throw Error("LLaVA attention capture: the prompt has no image tokens");
  // nonzero lists positions row by row in order.
  return is_image.nonzero().select(1, 1).view({b, n});
}

}  // namespace

LlavaProjectorImpl::LlavaProjectorImpl(int64_t in, int64_t out, std::string act, bool bias)
    : act_(std::move(act)) {
  nn::check_activation(act_);
  linear_1 = register_module("linear_1", nn::Linear(torch::nn::LinearOptions(in, out).bias(bias)));
  linear_2 = register_module("linear_2", nn::Linear(torch::nn::LinearOptions(out, out).bias(bias)));
}

at::Tensor LlavaProjectorImpl::forward(const at::Tensor& x) {
  return linear_2(nn::activate(act_, linear_1(x)));
}

LlavaModelImpl::LlavaModelImpl(const io::config::LlavaConfig& c) {
  vision_tower = register_module("vision_tower", ClipVisionTransformer(c.vision_config));
  const int64_t in =
      c.vision_config.hidden_size * static_cast<int64_t>(c.vision_feature_layers.size());
  multi_modal_projector = register_module(
      "multi_modal_projector", LlavaProjector(in, c.text_config.hidden_size, c.projector_hidden_act,
                                              c.multimodal_projector_bias));
  language_model = register_module("language_model", LlamaModel(c.text_config));
}

LlavaForConditionalGenerationImpl::LlavaForConditionalGenerationImpl(
    const io::config::LlavaConfig& c)
    : config_(c) {
  model = register_module("model", LlavaModel(c));
  if (!c.tie_word_embeddings)
    lm_head = register_module(
        "lm_head",
        nn::Linear(torch::nn::LinearOptions(c.text_config.hidden_size, c.text_config.vocab_size)
                       .bias(false)));
}

int64_t LlavaForConditionalGenerationImpl::tokens_per_image() const {
  const bool full =
      config_.vision_feature_select_strategy == io::config::VisionFeatureSelectStrategy::kFull;
  return model->vision_tower->num_patches() + (full ? 1 : 0);
}

at::Tensor LlavaForConditionalGenerationImpl::image_features(const at::Tensor& pixel_values,
                                                             LlavaCapture* capture) {
  auto& tower = model->vision_tower;
  const int64_t layers = tower->num_layers();
  // hidden_states[k] is the output of k layers; run only as many as the features (and any
  // capture) need.
  std::vector<int64_t> feature_index;
  int64_t run = 0;
  for (int64_t l : config_.vision_feature_layers) {
    feature_index.push_back(resolve_index(l, layers + 1, "vision_feature_layer"));
    run = std::max(run, feature_index.back());
  }
  std::vector<nn::AttentionCapture> slots;
  std::vector<nn::AttentionCapture*> captures;
  if (capture && !capture->vision_layers.empty()) {
    slots.resize(layers);
    captures.assign(layers, nullptr);
    for (int64_t l : capture->vision_layers) {
      int64_t i = resolve_index(l, layers, "vision layer");
      captures[i] = &slots[i];
      run = std::max(run, i + 1);
    }
  }
  ClipVisionOutput out = tower->forward(pixel_values, run, captures);
  if (capture)
    for (int64_t l = 0; l < layers; ++l)
      if (!captures.empty() && captures[l]) capture->vision_probs[l] = slots[l].probs;

  const bool drop_cls =
      config_.vision_feature_select_strategy == io::config::VisionFeatureSelectStrategy::kDefault;
  std::vector<at::Tensor> selected;
  for (int64_t k : feature_index) {
    at::Tensor h = out.hidden_states[k];
    selected.push_back(drop_cls ? h.slice(1, 1) : h);
  }
  at::Tensor features = selected.size() == 1 ? selected[0] : torch::cat(selected, -1);
  return model->multi_modal_projector(features);
}

at::Tensor LlavaForConditionalGenerationImpl::embed_inputs(const at::Tensor& input_ids,
                                                           const at::Tensor& image_features,
                                                           const at::Tensor& host_ids) {
  const int64_t image_token = config_.image_token_index;
  at::Tensor is_image = input_ids == image_token;
  const int64_t n_tokens =
      ((host_ids.defined() ? host_ids : input_ids) == image_token).sum().item<int64_t>();
  // The image token may lie outside the vocabulary (some checkpoints); its embedding is
  // overwritten anyway, so look up id 0 there.
  at::Tensor ids = input_ids;
  if (image_token >= config_.text_config.vocab_size) ids = input_ids.masked_fill(is_image, 0);
  at::Tensor embeds = model->language_model->embed(ids);
  if (!image_features.defined()) {
    if (n_tokens > 0)
      throw Error("LLaVA: the prompt has " + std::to_string(n_tokens) + " image tokens (id " +
                  std::to_string(image_token) + ") but no image was given");
    return embeds;
  }
  const int64_t n_images = image_features.size(0), per_image = image_features.size(1);
  if (n_tokens == 0)
    throw Error("LLaVA: " + std::to_string(n_images) + " image(s) given but the prompt has no " +
                "image token (id " + std::to_string(image_token) + ")");
  if (n_tokens != n_images * per_image)
    throw Error("LLaVA: the prompt has " + std::to_string(n_tokens) + " image tokens but " +
                std::to_string(n_images) + " image(s) give " +
                std::to_string(n_images * per_image) + " features (" + std::to_string(per_image) +
                " per image)");
  return embeds.masked_scatter(is_image.unsqueeze(-1).expand_as(embeds),
                               image_features.to(embeds.scalar_type()));
}

at::Tensor LlavaForConditionalGenerationImpl::lm_logits(const at::Tensor& hidden) {
  if (lm_head) return lm_head(hidden);
  return torch::nn::functional::linear(hidden, model->language_model->embed_tokens->weight);
}

LlavaOutput LlavaForConditionalGenerationImpl::forward(const LlavaInputs& in, LlavaCapture* capture,
                                                       KvCache* cache, int64_t logits_to_keep) {
  if (!in.input_ids.defined() || in.input_ids.dim() != 2)
    throw Error("LLaVA: input_ids must be [batch, tokens]");
  const int64_t b = in.input_ids.size(0), t = in.input_ids.size(1);
  const int64_t past = cache ? cache->length() : 0;
  LlavaOutput out;
  at::Tensor features;
  if (in.pixel_values.defined()) {
    features = image_features(in.pixel_values, capture);
    out.image_hidden_states = features.flatten(0, 1);
  }
  // What the host reads about the ids (checks, capture positions) it reads from a CPU copy.
  const at::Tensor& host_ids = in.host_input_ids.defined() ? in.host_input_ids : in.input_ids;
  at::Tensor embeds = embed_inputs(in.input_ids, features, host_ids);

  LlamaForwardOptions o;
  o.attention_mask = in.attention_mask;
  o.position_ids = in.position_ids;
  o.right_padded = in.right_padded;
  o.cache = cache;
  const int64_t n_layers = static_cast<int64_t>(model->language_model->num_layers());
  std::vector<nn::AttentionCapture> slots;
  std::vector<int64_t> captured;
  at::Tensor positions;  // [B, n] image-token positions within this input
  int64_t key_begin = 0, key_end = 0;
  bool uniform = true;
  if (capture && !capture->layers.empty()) {
    slots.resize(n_layers);
    o.captures.assign(n_layers, nullptr);
    for (int64_t l : capture->layers) {
      int64_t i = resolve_index(l, n_layers, "decoder layer");
      if (!o.captures[i]) captured.push_back(i);
      o.captures[i] = &slots[i];
    }
    if (!capture->full_matrix) {
      positions = image_positions(host_ids == config_.image_token_index);
      // Rows start after the earliest-ending image; columns span every row's image tokens and
      // are gathered per row below when rows place their images differently.
      const int64_t query_begin = positions.select(1, -1).min().item<int64_t>() + 1;
      key_begin = positions.min().item<int64_t>();
      key_end = positions.max().item<int64_t>() + 1;
      const int64_t n = positions.size(1);
      uniform = key_end - key_begin == n &&
                at::equal(positions, positions.narrow(0, 0, 1).expand_as(positions));
      for (int64_t i : captured) {
        slots[i].query_begin = query_begin;
        slots[i].key_begin = past + key_begin;
        slots[i].key_end = past + key_end;
      }
      capture->query_begin = past + query_begin;
      capture->image_positions = positions + past;
      at::Tensor rows =
          in.input_ids.slice(1, query_begin) != config_.image_token_index;  // on the device
      if (in.attention_mask.defined())
        rows = rows & (in.attention_mask.slice(1, past + query_begin).to(rows.device()) != 0);
      capture->text_rows = rows;
    } else {
      capture->query_begin = past;
    }
  }

  at::Tensor hidden = model->language_model->forward(embeds, o);
  if (in.labels.defined()) {
    if (in.labels.sizes() != in.input_ids.sizes())
      throw Error("LLaVA: labels must have the shape of input_ids");
    if (logits_to_keep > 0 && logits_to_keep < t)
      throw Error("LLaVA: a loss needs the logits of every position");
  }
  LmHeadOutput head = lm_head_and_loss(hidden, in.labels, in.loss_logits_only, logits_to_keep,
                                       [this](const at::Tensor& h) { return lm_logits(h); });
  out.logits = head.logits;
  out.loss = head.loss;

  for (int64_t i : captured) {
    at::Tensor p = slots[i].probs;
    if (!capture->full_matrix && !uniform) {
      // Per-row image columns within the captured span.
      at::Tensor index = (positions - key_begin).to(p.device());
      index = index.view({b, 1, 1, -1}).expand({b, p.size(1), p.size(2), index.size(1)});
      p = p.gather(3, index);
    }
    capture->probs[i] = p;
  }
  return out;
}

LlavaForConditionalGeneration load_llava(const std::string& folder, at::ScalarType dtype,
                                         at::Device device) {
  const std::string config_path = folder + "/config.json";
  nlohmann::json j = io::read_json_file(config_path);
  check_architecture(j, config_path, "LlavaForConditionalGeneration", "llava");
  io::config::LlavaConfig config = io::config::parse_llava_config(j, config_path);
  // Built without drawing initial values: every parameter is about to be loaded.
  LlavaForConditionalGeneration m = [&] {
    nn::SkipInitGuard skip_init;
    return LlavaForConditionalGeneration(config);
  }();

  io::LoadOptions options;
  options.key_rules = io::llava_key_rules();
  // Buffers older checkpoints carry that we compute instead.
  options.ignore_unexpected = {R"(\.position_ids$)", R"(\.rotary_emb\.inv_freq$)"};
  // A tied head is the embedding matrix; a saved copy of it is redundant.
  if (config.tie_word_embeddings) options.ignore_unexpected.push_back(R"(^lm_head\.weight$)");
  io::load_model_weights(*m, folder, options, dtype, device);
  return m;
}

std::vector<int64_t> default_grounding_layers(int64_t num_layers) {
  const bool middle = num_layers >= 8;
  const int64_t first = middle ? num_layers / 4 : 0;
  const int64_t end = middle ? 3 * num_layers / 4 : num_layers;
  std::vector<int64_t> layers;
  for (int64_t l = first; l < end; ++l) layers.push_back(l);
  return layers;
}

}  // namespace lavender::vlm
