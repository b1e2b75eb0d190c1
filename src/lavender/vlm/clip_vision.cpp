#include "lavender/vlm/clip_vision.h"

#include <torch/torch.h>

#include "lavender/util/error.h"

namespace lavender::vlm {

ClipVisionEmbeddingsImpl::ClipVisionEmbeddingsImpl(const io::config::ClipVisionConfig& c)
    : image_size_(c.image_size), grid_(c.image_size / c.patch_size) {
  if (c.patch_size <= 0 || c.image_size % c.patch_size != 0)
    throw Error("CLIP vision: image_size " + std::to_string(c.image_size) +
                " is not a multiple of patch_size " + std::to_string(c.patch_size));
  class_embedding = register_parameter("class_embedding", torch::randn({c.hidden_size}));
  patch_embedding = register_module(
      "patch_embedding",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(c.num_channels, c.hidden_size, c.patch_size)
                            .stride(c.patch_size)
                            .bias(false)));
  position_embedding =
      register_module("position_embedding", nn::Embedding(grid_ * grid_ + 1, c.hidden_size));
}

at::Tensor ClipVisionEmbeddingsImpl::forward(const at::Tensor& pixel_values) {
  if (pixel_values.dim() != 4 || pixel_values.size(2) != image_size_ ||
      pixel_values.size(3) != image_size_ ||
      pixel_values.size(1) != patch_embedding->options.in_channels())
    throw Error("CLIP vision: pixel_values must be [batch, " +
                std::to_string(patch_embedding->options.in_channels()) + ", " +
                std::to_string(image_size_) + ", " + std::to_string(image_size_) + "]");
  const int64_t b = pixel_values.size(0);
  at::Tensor patches = patch_embedding(pixel_values.to(patch_embedding->weight.scalar_type()))
                           .flatten(2)
                           .transpose(1, 2);
  at::Tensor cls = class_embedding.view({1, 1, -1}).expand({b, 1, class_embedding.size(0)});
  return torch::cat({cls, patches}, 1) + position_embedding->weight.unsqueeze(0);
}

ClipVisionTransformerImpl::ClipVisionTransformerImpl(const io::config::ClipVisionConfig& c)
    : config_(c) {
  embeddings = register_module("embeddings", ClipVisionEmbeddings(c));
  auto norm = torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps);
  pre_layrnorm = register_module("pre_layrnorm", torch::nn::LayerNorm(norm));
  nn::ClipEncoderOptions o{c.hidden_size,       c.intermediate_size, c.num_attention_heads,
                           c.num_hidden_layers, c.hidden_act,        c.layer_norm_eps};
  encoder = register_module("encoder", nn::ClipEncoder(o));
  post_layernorm = register_module("post_layernorm", torch::nn::LayerNorm(norm));
}

ClipVisionOutput ClipVisionTransformerImpl::forward(
    const at::Tensor& pixel_values, int64_t layers,
    const std::vector<nn::AttentionCapture*>& captures) {
  const int64_t total = num_layers();
  if (layers < 0) layers = total;
  if (layers > total)
    throw Error("CLIP vision: " + std::to_string(layers) + " layers asked of a " +
                std::to_string(total) + "-layer tower");
  if (!captures.empty() && static_cast<int64_t>(captures.size()) != total)
    throw Error("CLIP vision: need one capture slot per layer");
  // The encoder runs all its layers; running a prefix goes layer by layer here instead.
  ClipVisionOutput out;
  at::Tensor h = pre_layrnorm(embeddings(pixel_values));
  out.hidden_states.push_back(h);
  for (int64_t i = 0; i < layers; ++i) {
    nn::WholeLayer whole({layer_hooks_, encoder->layers[i].get()}, h);
    h = encoder->layers[i]->as<nn::ClipEncoderLayer>()->forward(
        h, at::Tensor(), /*causal=*/false, captures.empty() ? nullptr : captures[i]);
    out.hidden_states.push_back(h);
  }
  if (layers == total) out.pooler_output = post_layernorm(h.select(1, 0));
  return out;
}

}  // namespace lavender::vlm
