#include "lavender/vlm/open_flamingo_sizes.h"

#include <set>
#include <sstream>
#include <tuple>
#include <vector>

#include "lavender/util/error.h"

namespace lavender::vlm {
namespace {

using FlamingoTensors = std::map<std::string, at::Tensor>;

const char* const kFlamingoGatedPrefix = "lang_encoder.transformer.blocks.";

std::string sizes_text_of(const at::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

// The 2-D tensor `name` of the checkpoint, or an error naming the file.
const at::Tensor& flamingo_matrix(const FlamingoTensors& ckpt, const std::string& name,
                                  const std::string& file) {
  const auto it = ckpt.find(name);
  if (it == ckpt.end()) throw Error(file + ": no tensor " + name);
  if (it->second.dim() != 2)
    throw Error(file + ": " + name + " has shape " + sizes_text_of(it->second) +
                " (expected a matrix)");
  return it->second;
}

// The indices N of the names "<prefix>N.<rest>" in the checkpoint.
std::set<int64_t> numbered_under(const FlamingoTensors& ckpt, const std::string& prefix) {
  std::set<int64_t> out;
  for (const auto& entry : ckpt) {
    const std::string& name = entry.first;
    if (name.rfind(prefix, 0) != 0) continue;
    const size_t dot = name.find('.', prefix.size());
    const std::string number = name.substr(prefix.size(), dot - prefix.size());
    if (dot != std::string::npos && !number.empty() && number.size() < 10 &&
        number.find_first_not_of("0123456789") == std::string::npos)
      out.insert(std::stoll(number));
  }
  return out;
}

// The Perceiver's layers, perceiver.layers.0 … depth − 1 without a gap.
int64_t perceiver_depth_of(const FlamingoTensors& ckpt, const std::string& file) {
  const std::set<int64_t> layers = numbered_under(ckpt, "perceiver.layers.");
  if (!ckpt.count("perceiver.latents") || layers.empty())
    throw Error(file +
                ": no Perceiver tensors (perceiver.latents, perceiver.layers.N.*): not an "
                "OpenFlamingo checkpoint.pt");
  const auto depth = static_cast<int64_t>(layers.size());
  if (*layers.rbegin() != depth - 1)
    throw Error(file + ": the Perceiver's layers are not numbered 0 to " +
                std::to_string(depth - 1) + " (perceiver.layers." +
                std::to_string(*layers.rbegin()) + ".* is there)");
  return depth;
}

// A feed-forward's width multiplier: rows of its first linear ([dim·mult, dim]) over dim.
int64_t ff_mult_of(const FlamingoTensors& ckpt, const std::string& name, int64_t dim,
                   const std::string& file) {
  const at::Tensor& w = flamingo_matrix(ckpt, name, file);
  if (w.size(1) != dim || w.size(0) % dim != 0)
    throw Error(file + ": " + name + " has shape " + sizes_text_of(w) + ", not [a multiple of " +
                std::to_string(dim) + ", " + std::to_string(dim) + "]");
  return w.size(0) / dim;
}

// heads × dim_head = the inner width `name`'s rows show: as the caller split it, else the
// release's 8 × 64.
std::pair<int64_t, int64_t> split_flamingo_heads(const at::Tensor& to_q,
                                                 const OpenFlamingoHeadSplit& hint,
                                                 const std::string& name, const std::string& file,
                                                 const std::string& flags) {
  const int64_t inner = to_q.size(0);
  const std::string shape = file + ": " + name + " is " + sizes_text_of(to_q) +
                            ", an inner width of " + std::to_string(inner);
  int64_t heads = hint.heads.value_or(0), dim_head = hint.dim_head.value_or(0);
  if (heads == 0 && dim_head == 0) {
    if (inner != 8 * 64)
      throw Error(shape + ", not the release's 8 heads × 64; say how it splits (" + flags + ")");
    return {8, 64};
  }
  if (heads == 0) heads = inner % dim_head == 0 ? inner / dim_head : 0;
  if (dim_head == 0) dim_head = inner % heads == 0 ? inner / heads : 0;
  if (heads <= 0 || dim_head <= 0 || heads * dim_head != inner)
    throw Error(shape + ", which " +
                (hint.heads ? std::to_string(*hint.heads) + " heads" : std::string("")) +
                (hint.heads && hint.dim_head ? " × " : "") +
                (hint.dim_head ? "dim_head " + std::to_string(*hint.dim_head) : std::string("")) +
                " cannot split (" + flags + ")");
  return {heads, dim_head};
}

// Every n-th block (upstream's (i + 1) % n == 0) for the n the first gated block gives, or 0 when
// the blocks follow no such rule.
int64_t regular_gated_interval(const std::vector<int64_t>& gated, int64_t decoder_layers) {
  const int64_t n = gated.front() + 1;
  io::config::OpenFlamingoConfig c;
  c.cross_attn_every_n_layers = n;
  return io::config::gated_layer_indices(c, decoder_layers) == gated ? n : 0;
}

// The decoder blocks with a gated layer before them, checked against the decoder's depth.
std::vector<int64_t> gated_blocks_of(const FlamingoTensors& ckpt, int64_t decoder_layers,
                                     const std::string& file) {
  const std::set<int64_t> blocks = numbered_under(ckpt, kFlamingoGatedPrefix);
  std::vector<int64_t> gated;
  for (int64_t b : blocks)
    for (const auto& entry : ckpt)
      if (entry.first.rfind(kFlamingoGatedPrefix + std::to_string(b) + ".gated_cross_attn_layer.",
                            0) == 0) {
        gated.push_back(b);
        break;
      }
  if (gated.empty())
    throw Error(file + ": no gated cross-attention layers (" + kFlamingoGatedPrefix +
                "N.gated_cross_attn_layer.*): not an OpenFlamingo checkpoint.pt");
  if (gated.back() >= decoder_layers)
    throw Error(file + ": " + kFlamingoGatedPrefix + std::to_string(gated.back()) +
                ".gated_cross_attn_layer.* is beyond the language model's " +
                std::to_string(decoder_layers) + " blocks");
  return gated;
}

}  // namespace

io::config::OpenFlamingoConfig infer_open_flamingo_sizes(const FlamingoTensors& checkpoint,
                                                         const std::string& file,
                                                         int64_t decoder_layers,
                                                         const OpenFlamingoSizeHints& hints) {
  io::config::OpenFlamingoConfig c;
  auto& p = c.perceiver;
  p.depth = perceiver_depth_of(checkpoint, file);
  const at::Tensor& latents = flamingo_matrix(checkpoint, "perceiver.latents", file);
  p.num_latents = latents.size(0);
  const int64_t vis_dim = latents.size(1);
  c.vis_dim = vis_dim;
  const std::string pq = "perceiver.layers.0.0.to_q.weight";
  std::tie(p.heads, p.dim_head) =
      split_flamingo_heads(flamingo_matrix(checkpoint, pq, file), hints.perceiver, pq, file,
                           "--perceiver-heads / --perceiver-dim-head");
  p.ff_mult = ff_mult_of(checkpoint, "perceiver.layers.0.1.1.weight", vis_dim, file);

  const std::vector<int64_t> gated = gated_blocks_of(checkpoint, decoder_layers, file);
  const std::string g =
      kFlamingoGatedPrefix + std::to_string(gated.front()) + ".gated_cross_attn_layer.";
  const at::Tensor& xq = flamingo_matrix(checkpoint, g + "attn.to_q.weight", file);
  auto& x = c.gated_xattn;
  std::tie(x.heads, x.dim_head) = split_flamingo_heads(
      xq, hints.gated_xattn, g + "attn.to_q.weight", file, "--xattn-heads / --xattn-dim-head");
  x.ff_mult = ff_mult_of(checkpoint, g + "ff.1.weight", xq.size(1), file);

  if (hints.cross_attn_every_n_layers) {
    c.cross_attn_every_n_layers = *hints.cross_attn_every_n_layers;
  } else {
    const int64_t n = regular_gated_interval(gated, decoder_layers);
    if (n > 0) c.cross_attn_every_n_layers = n;
    c.gated_xattn_layers = gated;
  }
  const std::string wte = "lang_encoder.transformer.wte.weight";
  if (checkpoint.count(wte)) c.vocab_size = flamingo_matrix(checkpoint, wte, file).size(0);
  return c;
}

}  // namespace lavender::vlm
