// The sizes of an OpenFlamingo release read from its checkpoint.pt. Upstream's factory takes them
// as arguments and the release records none, but the trainable weights show most of them: the
// Perceiver's depth (its layers), latents and width (perceiver.latents), the feed-forward
// widths, which decoder blocks have a gated cross-attention layer, and the resized vocabulary
// (the token embedding's rows). Heads and dim_head show only as their product (the attention's
// inner width); they default to the release's 8 × 64 and must agree with it.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "lavender/io/config/open_flamingo.h"

namespace lavender::vlm {

// How an attention's inner width splits into heads: the caller's choice where the checkpoint
// cannot tell; one of the two is enough (the other is the width divided by it).
struct OpenFlamingoHeadSplit {
  std::optional<int64_t> heads, dim_head;
};

struct OpenFlamingoSizeHints {
  OpenFlamingoHeadSplit perceiver, gated_xattn;
  // Written as given instead of the blocks read from the checkpoint, which it must then match.
  std::optional<int64_t> cross_attn_every_n_layers;
};

// A config with the sizes `checkpoint` (the tensors of `file`, a release's checkpoint.pt)
// determines: vis_dim, perceiver.{depth, num_latents, ff_mult, heads, dim_head},
// gated_xattn.{heads, dim_head, ff_mult}, vocab_size when it holds the resized embedding, and the
// gated blocks of a decoder of `decoder_layers` blocks as cross_attn_every_n_layers with
// gated_xattn_layers listing them (or the list alone when they are not every n-th block).
// Token ids and paths are left to the caller. Throws lavender::Error naming the file and the
// tensor: no Perceiver or no gated layers (not an OpenFlamingo checkpoint), a shape that does
// not fit, or heads that do not divide the inner width.
io::config::OpenFlamingoConfig infer_open_flamingo_sizes(
    const std::map<std::string, at::Tensor>& checkpoint, const std::string& file,
    int64_t decoder_layers, const OpenFlamingoSizeHints& hints = {});

}  // namespace lavender::vlm
