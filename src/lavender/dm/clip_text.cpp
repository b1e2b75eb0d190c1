#include "lavender/dm/clip_text.h"

#include <torch/torch.h>

#include "lavender/io/load_state_dict.h"
#include "lavender/nn/init_guard.h"
#include "lavender/util/error.h"

namespace lavender::dm {

ClipTextEmbeddingsImpl::ClipTextEmbeddingsImpl(const io::config::ClipTextConfig& c) {
  token_embedding =
      register_module("token_embedding", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  position_embedding = register_module(
      "position_embedding", torch::nn::Embedding(c.max_position_embeddings, c.hidden_size));
}

at::Tensor ClipTextEmbeddingsImpl::forward(const at::Tensor& input_ids) {
  const int64_t t = input_ids.size(1);
  if (t > position_embedding->weight.size(0))
    throw Error("CLIP text encoder: " + std::to_string(t) + " tokens exceed the " +
                std::to_string(position_embedding->weight.size(0)) + " positions of the model");
  at::Tensor positions = torch::arange(t, input_ids.options().dtype(torch::kLong));
  return token_embedding(input_ids) + position_embedding(positions).unsqueeze(0);
}

ClipTextTransformerImpl::ClipTextTransformerImpl(const io::config::ClipTextConfig& c) : config_(c) {
  embeddings = register_module("embeddings", ClipTextEmbeddings(c));
  nn::ClipEncoderOptions o{c.hidden_size,       c.intermediate_size, c.num_attention_heads,
                           c.num_hidden_layers, c.hidden_act,        c.layer_norm_eps};
  encoder = register_module("encoder", nn::ClipEncoder(o));
  final_layer_norm = register_module(
      "final_layer_norm",
      torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
}

ClipTextOutput ClipTextTransformerImpl::forward(const at::Tensor& input_ids,
                                                bool all_hidden_states) {
  if (input_ids.dim() != 2) throw Error("CLIP text encoder: input_ids must be [batch, tokens]");
  at::Tensor ids = input_ids.to(torch::kLong);
  ClipTextOutput out;
  // CLIP's text encoder is causal and, as Stable Diffusion calls it, takes no padding mask.
  auto states = encoder(embeddings(ids), at::Tensor(), /*causal=*/true, all_hidden_states);
  out.last_hidden_state = final_layer_norm(states.back());
  if (all_hidden_states) out.hidden_states = std::move(states);

  // Pool at the end-of-text token. Configs with the legacy eos id 2 (SD 1.x) pool at the
  // highest id instead, since the end token has the largest id in CLIP's vocabulary.
  at::Tensor eos_position = config_.eos_token_id == 2
                                ? ids.argmax(-1)
                                : (ids == config_.eos_token_id).to(torch::kInt).argmax(-1);
  at::Tensor rows = torch::arange(ids.size(0), eos_position.options());
  out.pooler_output = out.last_hidden_state.index({rows, eos_position});
  return out;
}

ClipTextModelImpl::ClipTextModelImpl(const io::config::ClipTextConfig& c) : config_(c) {
  text_model = register_module("text_model", ClipTextTransformer(c));
}

ClipTextOutput ClipTextModelImpl::forward(const at::Tensor& input_ids, bool all_hidden_states) {
  return text_model(input_ids, all_hidden_states);
}

ClipTextModel load_clip_text_model(const std::string& folder, at::ScalarType dtype,
                                   at::Device device) {
  const auto config = io::config::load_clip_text_config(folder + "/config.json");
  ClipTextModel model = [&] {
    nn::SkipInitGuard skip_init;  // every weight is about to be loaded
    return ClipTextModel(config);
  }();
  io::LoadOptions options;
  options.ignore_unexpected = {R"(\.position_ids$)"};
  // transformers 4 saves under `text_model.`; transformers 5 drops that segment.
  options.key_rules = {{"text_model.", "text_model."}, {"", "text_model."}};
  io::load_model_weights(*model, folder, options, dtype, device);
  return model;
}

}  // namespace lavender::dm
