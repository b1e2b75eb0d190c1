#include "lavender/vlm/mllama_vision.h"

#include <torch/torch.h>

#include <cmath>

#include "lavender/util/error.h"

namespace lavender::vlm {
namespace {

using io::config::MllamaVisionConfig;

int64_t max_aspect_ratio_id(const MllamaVisionConfig& c) {
  return static_cast<int64_t>(c.supported_aspect_ratios.size());
}

torch::nn::LayerNormOptions norm_options(const MllamaVisionConfig& c) {
  return torch::nn::LayerNormOptions({c.hidden_size}).eps(c.norm_eps);
}

}  // namespace

MllamaVisionAttentionImpl::MllamaVisionAttentionImpl(int64_t hidden, int64_t heads)
    : heads_(heads), head_dim_(hidden / heads) {
  if (heads <= 0 || hidden % heads != 0)
    throw Error("mllama vision: hidden size " + std::to_string(hidden) + " is not divisible by " +
                std::to_string(heads) + " heads");
  auto linear = [&](const char* name) {
    return register_module(name, nn::Linear(torch::nn::LinearOptions(hidden, hidden).bias(false)));
  };
  q_proj = linear("q_proj"), k_proj = linear("k_proj"), v_proj = linear("v_proj");
  o_proj = linear("o_proj");
}

at::Tensor MllamaVisionAttentionImpl::forward(const at::Tensor& x, const at::Tensor& mask,
                                              nn::AttentionCapture* capture) {
  const int64_t b = x.size(0), t = x.size(1);
  auto split = [&](const at::Tensor& y) {
    return y.view({b, t, heads_, head_dim_}).transpose(1, 2);
  };
  at::Tensor out =
      nn::attention(split(q_proj(x)), split(k_proj(x)), split(v_proj(x)), mask,
                    /*causal=*/false, 1.0 / std::sqrt(static_cast<double>(head_dim_)), capture);
  return o_proj(out.transpose(1, 2).reshape({b, t, heads_ * head_dim_}));
}

MllamaVisionLayerImpl::MllamaVisionLayerImpl(const MllamaVisionConfig& c, bool gated) {
  self_attn =
      register_module("self_attn", MllamaVisionAttention(c.hidden_size, c.num_attention_heads));
  mlp = register_module("mlp", nn::ClipMlp(c.hidden_size, c.intermediate_size, c.hidden_act));
  input_layernorm = register_module("input_layernorm", torch::nn::LayerNorm(norm_options(c)));
  post_attention_layernorm =
      register_module("post_attention_layernorm", torch::nn::LayerNorm(norm_options(c)));
  if (gated) {
    // transformers initialises both gates to π/4; checkpoints overwrite them.
    gate_attn = register_parameter("gate_attn", torch::full({1}, M_PI / 4));
    gate_ffn = register_parameter("gate_ffn", torch::full({1}, M_PI / 4));
  }
}

at::Tensor MllamaVisionLayerImpl::forward(const at::Tensor& x, const at::Tensor& mask,
                                          nn::AttentionCapture* capture) {
  at::Tensor attn = self_attn(input_layernorm(x), mask, capture);
  at::Tensor h = x + (gate_attn.defined() ? gate_attn.tanh() * attn : attn);
  at::Tensor ffn = mlp(post_attention_layernorm(h));
  return h + (gate_ffn.defined() ? gate_ffn.tanh() * ffn : ffn);
}

MllamaVisionEncoderImpl::MllamaVisionEncoderImpl(const MllamaVisionConfig& c, int64_t n,
                                                 bool gated) {
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < n; ++i) layers->push_back(MllamaVisionLayer(c, gated));
}

std::vector<at::Tensor> MllamaVisionEncoderImpl::forward(const at::Tensor& x,
                                                         const at::Tensor& mask,
                                                         const std::string& name,
                                                         VisionAttentionCapture* capture) {
  std::vector<at::Tensor> states{x};
  for (size_t i = 0; i < layers->size(); ++i) {
    const std::string layer_name = name + ".layers." + std::to_string(i);
    nn::AttentionCapture slot;
    const bool wanted = capture && capture->layers.count(layer_name) > 0;
    nn::WholeLayer whole({layer_hooks, layers[i].get()}, states.back());
    states.push_back(
        layers[i]->as<MllamaVisionLayer>()->forward(states.back(), mask, wanted ? &slot : nullptr));
    if (wanted) capture->probs[layer_name] = slot.probs;
  }
  return states;
}

TileEmbeddingImpl::TileEmbeddingImpl(const MllamaVisionConfig& c)
    : tiles_(c.max_num_tiles), hidden_(c.hidden_size) {
  embedding =
      register_module("embedding", nn::Embedding(max_aspect_ratio_id(c) + 1, tiles_ * hidden_));
  gate = register_parameter("gate", torch::zeros({1}));
}

at::Tensor TileEmbeddingImpl::forward(const at::Tensor& x, const at::Tensor& aspect_ratio_ids) {
  at::Tensor e = embedding(aspect_ratio_ids).reshape({-1, tiles_, 1, hidden_});
  return x + e * gate.tanh();
}

TilePositionEmbeddingImpl::TilePositionEmbeddingImpl(const MllamaVisionConfig& c)
    : tiles_(c.max_num_tiles),
      patches_((c.image_size / c.patch_size) * (c.image_size / c.patch_size) + 1),
      hidden_(c.hidden_size) {
  embedding = register_parameter("embedding", torch::zeros({patches_, hidden_}));
  gate = register_parameter("gate", torch::zeros({1}));
  tile_embedding = register_module(
      "tile_embedding", nn::Embedding(max_aspect_ratio_id(c) + 1, tiles_ * patches_ * hidden_));
}

at::Tensor TilePositionEmbeddingImpl::forward(const at::Tensor& x,
                                              const at::Tensor& aspect_ratio_ids) {
  at::Tensor h = x + ((1 - gate.tanh()) * embedding).view({1, 1, patches_, hidden_});
  at::Tensor tiles =
      tile_embedding(aspect_ratio_ids).reshape({x.size(0), tiles_, patches_, hidden_});
  return h + gate.tanh() * tiles;
}

at::Tensor tile_attention_mask(const at::Tensor& aspect_ratio_mask, int64_t patches,
                               int64_t padded_patches, at::ScalarType dtype) {
  const int64_t b = aspect_ratio_mask.size(0), tiles = aspect_ratio_mask.size(1);
  at::Tensor keep =
      aspect_ratio_mask.to(dtype).view({b, tiles, 1}).expand({b, tiles, padded_patches}).clone();
  if (padded_patches > patches) keep.narrow(2, patches, padded_patches - patches).zero_();
  at::Tensor pad = (1 - keep).reshape({b, tiles * padded_patches, 1});
  // Outer product: a pair is masked only when both positions are padding (transformers' rule).
  // Elementwise, not a matmul: autocast would compute a matmul in bf16, where the fp32 lowest
  // value overflows to -inf and a row of padding becomes NaN after the softmax.
  return (pad * pad.transpose(-1, -2) * nn::lowest_finite(dtype)).unsqueeze(1).to(dtype);
}

MllamaVisionModelImpl::MllamaVisionModelImpl(const MllamaVisionConfig& c) : config_(c) {
  if (c.image_size % c.patch_size != 0)
    throw Error("mllama vision: image_size " + std::to_string(c.image_size) +
                " is not a multiple of patch_size " + std::to_string(c.patch_size));
  if (c.hidden_size * (static_cast<int64_t>(c.intermediate_layers_indices.size()) + 1) !=
      c.vision_output_dim)
    throw Error("mllama vision: vision_output_dim " + std::to_string(c.vision_output_dim) +
                " is not hidden_size × (1 + intermediate layers)");
  for (int64_t i : c.intermediate_layers_indices)
    if (i < 0 || i >= c.num_hidden_layers)
      throw Error("mllama vision: intermediate layer index " + std::to_string(i) + " out of range");
  patch_embedding = register_module(
      "patch_embedding",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(c.num_channels, c.hidden_size, c.patch_size)
                            .stride(c.patch_size)
                            .bias(false)));
  class_embedding = register_parameter("class_embedding", torch::zeros({c.hidden_size}));
  gated_positional_embedding =
      register_module("gated_positional_embedding", TilePositionEmbedding(c));
  pre_tile_positional_embedding =
      register_module("pre_tile_positional_embedding", TileEmbedding(c));
  post_tile_positional_embedding =
      register_module("post_tile_positional_embedding", TileEmbedding(c));
  layernorm_pre = register_module("layernorm_pre", torch::nn::LayerNorm(norm_options(c)));
  layernorm_post = register_module("layernorm_post", torch::nn::LayerNorm(norm_options(c)));
  transformer = register_module("transformer", MllamaVisionEncoder(c, c.num_hidden_layers, false));
  global_transformer =
      register_module("global_transformer", MllamaVisionEncoder(c, c.num_global_layers, true));
}

int64_t MllamaVisionModelImpl::patches_per_tile() const {
  const int64_t side = config_.image_size / config_.patch_size;
  return side * side + 1;
}

at::Tensor MllamaVisionModelImpl::forward(const at::Tensor& pixel_values,
                                          const at::Tensor& aspect_ratio_ids,
                                          const at::Tensor& aspect_ratio_mask,
                                          VisionAttentionCapture* capture) {
  const auto& c = config_;
  if (pixel_values.dim() != 6 || pixel_values.size(2) != c.max_num_tiles ||
      pixel_values.size(4) != c.image_size || pixel_values.size(5) != c.image_size)
    throw Error("mllama vision: pixel_values must be [batch, images, " +
                std::to_string(c.max_num_tiles) + " tiles, 3, " + std::to_string(c.image_size) +
                ", " + std::to_string(c.image_size) + "]");
  const int64_t b = pixel_values.size(0), media = pixel_values.size(1), tiles = c.max_num_tiles;
  const int64_t bm = b * media, dim = c.hidden_size, patches = patches_per_tile();
  at::Tensor ids = aspect_ratio_ids.reshape({bm}).to(torch::kLong);
  if (ids.min().item<int64_t>() < 0 || ids.max().item<int64_t>() > max_aspect_ratio_id(c))
    throw Error("mllama vision: aspect_ratio_ids outside [0, " +
                std::to_string(max_aspect_ratio_id(c)) + "]");

  at::Tensor h =
      patch_embedding(pixel_values.reshape({bm * tiles, c.num_channels, c.image_size, c.image_size})
                          .to(class_embedding.scalar_type()))
          .flatten(2)
          .transpose(1, 2);  // [bm·tiles, patches - 1, dim]
  h = pre_tile_positional_embedding(h.reshape({bm, tiles, patches - 1, dim}), ids);
  h = h.reshape({bm * tiles, patches - 1, dim});
  h = torch::cat({class_embedding.view({1, 1, dim}).expand({bm * tiles, 1, dim}), h}, 1);
  h = gated_positional_embedding(h.reshape({bm, tiles, patches, dim}), ids);
  h = layernorm_pre(h);

  // transformers pads each tile's patches to a multiple of 8 before the encoders.
  const int64_t padded = (patches + 7) / 8 * 8;
  h = torch::constant_pad_nd(h, {0, 0, 0, padded - patches});
  at::Tensor mask =
      tile_attention_mask(aspect_ratio_mask.reshape({bm, tiles}), patches, padded, h.scalar_type());

  auto local = transformer(h.reshape({bm, tiles * padded, dim}), mask, "transformer", capture);
  h = layernorm_post(local.back());
  h = post_tile_positional_embedding(h.reshape({bm, tiles, padded, dim}), ids);
  h = global_transformer(h.reshape({bm, tiles * padded, dim}), mask, "global_transformer", capture)
          .back();

  auto unpad = [&](const at::Tensor& x) {
    return x.reshape({bm, tiles, padded, -1})
        .narrow(2, 0, patches)
        .reshape({b, media, tiles, patches, -1});
  };
  if (c.intermediate_layers_indices.empty()) return unpad(h);
  // Intermediate layer i contributes its output (local[i + 1]), as transformers 5 computes it
  // (the fixture's reference). Stacked on a new last axis and flattened with it, as transformers
  // does: the intermediate features interleave per channel ([c0 of each layer, c1 of ...]).
  std::vector<at::Tensor> inter;
  for (int64_t i : c.intermediate_layers_indices)
    inter.push_back(local[static_cast<size_t>(i) + 1]);
  return torch::cat({unpad(h), unpad(torch::stack(inter, -1))}, -1);
}

}  // namespace lavender::vlm
