#include "lavender/vlm/siglip_vision.h"

#include <torch/torch.h>

#include "lavender/nn/attention.h"
#include "lavender/util/error.h"

namespace lavender::vlm {

at::Tensor bucketed_position_ids(const at::Tensor& patch_attention_mask, int64_t per_side) {
  const at::Tensor mask = patch_attention_mask.to(torch::kCPU, torch::kBool);
  const int64_t n = mask.size(0), rows = mask.size(1), cols = mask.size(2);
  // Bucket boundaries 1/nps, 2/nps, ... and the fractional coordinates are float32 aranges, as
  // in the reference; torch's arange and bucketize give the same float32 values and ties here.
  const at::Tensor boundaries =
      torch::arange(1.0 / per_side, 1.0, 1.0 / per_side, torch::dtype(torch::kFloat));
  at::Tensor ids = torch::zeros({n, rows * cols}, torch::kLong);
  for (int64_t i = 0; i < n; ++i) {
    const at::Tensor m = mask[i];
    // Real patches form a grid whose height is the first column's count and width the first
    // row's count (the reference reads them so; a mask that is not a grid is not one it makes).
    const int64_t nb_h = m.select(1, 0).sum().item<int64_t>();
    const int64_t nb_w = m.select(0, 0).sum().item<int64_t>();
    if (nb_h == 0 || nb_w == 0) continue;
    // The reference's step is 1 / (a count tensor): a float32 reciprocal, whose rounding moves
    // coordinates that land on a bucket boundary.
    auto buckets = [&](int64_t nb) {
      const double step = static_cast<float>(1.0 / static_cast<double>(nb));
      at::Tensor frac = torch::arange(0.0, 1.0 - 1e-6, step, torch::dtype(torch::kFloat));
      return torch::bucketize(frac, boundaries, /*out_int32=*/false, /*right=*/true);
    };
    at::Tensor pos = (buckets(nb_h).unsqueeze(1) * per_side + buckets(nb_w)).flatten();
    const at::Tensor real = m.reshape({-1});
    if (real.sum().item<int64_t>() != pos.numel())
      throw Error("SigLIP vision: patch mask of image " + std::to_string(i) +
                  " is not a rectangle of real patches");
    ids[i].masked_scatter_(real, pos);
  }
  return ids;
}

SiglipVisionEmbeddingsImpl::SiglipVisionEmbeddingsImpl(const io::config::ClipVisionConfig& c)
    : patch_size_(c.patch_size), per_side_(c.image_size / c.patch_size) {
  patch_embedding = register_module(
      "patch_embedding",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(c.num_channels, c.hidden_size, c.patch_size)
                            .stride(c.patch_size)));
  position_embedding =
      register_module("position_embedding", nn::Embedding(per_side_ * per_side_, c.hidden_size));
}

at::Tensor SiglipVisionEmbeddingsImpl::forward(const at::Tensor& pixel_values,
                                               const at::Tensor& patch_attention_mask) {
  const int64_t channels = patch_embedding->options.in_channels();
  if (pixel_values.dim() != 4 || pixel_values.size(1) != channels ||
      pixel_values.size(2) % patch_size_ != 0 || pixel_values.size(3) % patch_size_ != 0)
    throw Error("SigLIP vision: pixel_values must be [images, " + std::to_string(channels) +
                ", H, W] with H and W multiples of " + std::to_string(patch_size_));
  const int64_t n = pixel_values.size(0), rows = pixel_values.size(2) / patch_size_,
                cols = pixel_values.size(3) / patch_size_;
  if (patch_attention_mask.sizes() != at::IntArrayRef({n, rows, cols}))
    throw Error("SigLIP vision: patch_attention_mask must be [" + std::to_string(n) + ", " +
                std::to_string(rows) + ", " + std::to_string(cols) + "]");
  at::Tensor patches = patch_embedding(pixel_values.to(patch_embedding->weight.scalar_type()))
                           .flatten(2)
                           .transpose(1, 2);
  at::Tensor ids = bucketed_position_ids(patch_attention_mask, per_side_).to(patches.device());
  return patches + position_embedding(ids);
}

SiglipVisionTransformerImpl::SiglipVisionTransformerImpl(const io::config::ClipVisionConfig& c,
                                                         int64_t layers)
    : config_(c) {
  if (c.patch_size <= 0 || c.image_size < c.patch_size)
    throw Error("SigLIP vision: image_size " + std::to_string(c.image_size) +
                " is smaller than patch_size " + std::to_string(c.patch_size));
  embeddings = register_module("embeddings", SiglipVisionEmbeddings(c));
  nn::ClipEncoderOptions o{c.hidden_size, c.intermediate_size, c.num_attention_heads,
                           layers,        c.hidden_act,        c.layer_norm_eps};
  encoder = register_module("encoder", nn::ClipEncoder(o));
  post_layernorm = register_module(
      "post_layernorm",
      torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
}

at::Tensor SiglipVisionTransformerImpl::forward(const at::Tensor& pixel_values,
                                                const at::Tensor& patch_attention_mask) {
  at::Tensor mask = patch_attention_mask;
  if (!mask.defined()) {
    if (pixel_values.dim() != 4)
      throw Error("SigLIP vision: pixel_values must be [images, channels, H, W]");
    mask = torch::ones({pixel_values.size(0), pixel_values.size(2) / config_.patch_size,
                        pixel_values.size(3) / config_.patch_size},
                       torch::dtype(torch::kBool));
  }
  mask = mask.to(torch::kBool);
  at::Tensor h = embeddings(pixel_values, mask);
  // Padded patches are masked as keys (additive lowest-finite, as transformers' 4-D mask); with
  // no padding at all there is no mask.
  at::Tensor keys = mask.flatten(1).to(h.device());
  at::Tensor bias;
  if (!keys.all().item<bool>())
    bias = torch::zeros(keys.sizes(), h.options())
               .masked_fill(keys.logical_not(), nn::lowest_finite(h.scalar_type()))
               .view({keys.size(0), 1, 1, keys.size(1)});
  // Layer by layer (not encoder->forward) so that sharded layers are made whole as they run.
  for (size_t i = 0; i < encoder->num_layers(); ++i) {
    nn::WholeLayer whole({layer_hooks_, encoder->layers[i].get()}, h);
    h = encoder->layers[i]->as<nn::ClipEncoderLayer>()->forward(h, bias, /*causal=*/false);
  }
  return post_layernorm(h);
}

}  // namespace lavender::vlm
