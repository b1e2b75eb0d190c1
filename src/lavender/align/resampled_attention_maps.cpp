#include "lavender/align/resampled_attention_maps.h"

#include <torch/torch.h>

#include "lavender/align/attention_maps.h"
#include "lavender/util/error.h"

namespace lavender::align {

LatentMaps parse_latent_maps(const std::string& name) {
  if (name == "composed") return LatentMaps::composed;
  if (name == "square") return LatentMaps::square;
  throw Error("unknown latent map reading \"" + name + "\" (composed, square)");
}

const char* latent_maps_name(LatentMaps maps) {
  return maps == LatentMaps::composed ? "composed" : "square";
}

at::Tensor query_patch_attention(const at::Tensor& probs) {
  if (probs.dim() != 4)
    throw Error("resampled maps: resampler probabilities must be [B, heads, queries, patches]");
  at::Tensor p = probs.to(torch::kFloat);
  // A query that put (almost) all its weight elsewhere still gets a finite row.
  p = p / p.sum(-1, /*keepdim=*/true).clamp_min(1e-12);
  return p.mean(1);
}

at::Tensor compose_through_queries(const at::Tensor& block, const at::Tensor& query_to_patch) {
  if (block.dim() < 2 || query_to_patch.dim() < 2 || block.size(-1) != query_to_patch.size(-2))
    throw Error("resampled maps: " + std::to_string(block.size(-1)) +
                " query columns against a query→patch attention of " +
                std::to_string(query_to_patch.dim() < 2 ? 0 : query_to_patch.size(-2)) +
                " queries");
  return torch::matmul(block.to(torch::kFloat), query_to_patch.to(torch::kFloat));
}

at::Tensor latent_patch_attention(const at::Tensor& perceiver_probs) {
  if (perceiver_probs.dim() != 4 || perceiver_probs.size(3) <= perceiver_probs.size(2))
    throw Error(
        "latent maps: Perceiver probabilities must be [B, heads, latents, patches + latents]");
  // The latents' own columns are dropped: the map is over the image's patches.
  const int64_t patches = perceiver_probs.size(3) - perceiver_probs.size(2);
  return query_patch_attention(perceiver_probs.narrow(3, 0, patches));
}

at::Tensor composed_latent_maps(const at::Tensor& block, const at::Tensor& latent_to_patch,
                                int64_t size) {
  if (block.dim() != 4 || latent_to_patch.dim() != 3 || block.size(0) != latent_to_patch.size(0) ||
      block.size(3) != latent_to_patch.size(1))
    throw Error(
        "latent maps: need block [B, heads, rows, latents] and latent→patch attention "
        "[B, latents, patches] of the same B and latents");
  const int64_t side = square_side(latent_to_patch.size(2));
  if (side * side != latent_to_patch.size(2))
    throw Error("latent maps: " + std::to_string(latent_to_patch.size(2)) +
                " patches are not a square raster");
  // [B, H, rows, L] × [B, 1, L, P]: each row's weight on a latent is spread over the patches
  // that latent read.
  at::Tensor patches = compose_through_queries(block, latent_to_patch.unsqueeze(1));
  return self_attention_maps(patches, size);
}

at::Tensor square_latent_maps(const at::Tensor& block, int64_t size) {
  return self_attention_maps(block, size);
}

}  // namespace lavender::align
