// Square maps for VLMs whose text attends to resampled latents (OpenFlamingo: a Perceiver turns
// each image's P patch tokens into a few learned latents, and the gated cross-attention reads
// only those). The latents have no place in the image, so a word's attention to them is read in
// one of two ways (METHOD.md, "VLM side", cross-attention VLMs):
//   composed  text→latent attention × the Perceiver's last-layer latent→patch attention (the
//             latents' own columns dropped and rows renormalised, heads averaged): attention over
//             the patch raster, which is then resized as a self-attention VLM's image block is;
//   square    the latents taken as a raster (to_square: 64 → 8×8; counts that are not squares
//             interpolated), as LLaVA's non-square token counts are.
// Both give [B, heads, rows, S, S] and are differentiable.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace lavender::align {

enum class LatentMaps { composed, square };

// "composed" | "square"; throws lavender::Error naming the choices for anything else.
LatentMaps parse_latent_maps(const std::string& name);
const char* latent_maps_name(LatentMaps maps);

// A resampler's query→patch attention: probs [B, heads, queries, P] over patches only (masked
// patches hold 0) → [B, queries, P], each row renormalised to sum to 1, then averaged over heads.
at::Tensor query_patch_attention(const at::Tensor& probs);

// block [..., rows, queries] (text rows' attention to resampled tokens) × query_to_patch
// [..., queries, P] → [..., rows, P]: each row's weight on a query spread over the patches that
// query read (leading dimensions broadcast).
at::Tensor compose_through_queries(const at::Tensor& block, const at::Tensor& query_to_patch);

// The Perceiver's latent→patch attention: probs [B, heads, latents, P + latents] (keys: the
// image's P patch tokens, then the latents) → [B, latents, P], the patch columns renormalised to
// sum to 1 per row, then averaged over heads.
at::Tensor latent_patch_attention(const at::Tensor& perceiver_probs);

// block [B, heads, rows, latents] (text rows' attention to one image's latents);
// latent_to_patch [B, latents, P] with P a square number (latent_patch_attention()).
// → [B, heads, rows, S, S].
at::Tensor composed_latent_maps(const at::Tensor& block, const at::Tensor& latent_to_patch,
                                int64_t size = 32);

// block [B, heads, rows, latents] → [B, heads, rows, S, S] (the latents as a raster).
at::Tensor square_latent_maps(const at::Tensor& block, int64_t size = 32);

}  // namespace lavender::align
