#include <cstdio>
#include <optional>
#include <string>

#include "commands.h"
#include "lavender/util/args.h"
#include "lavender/util/error.h"
#include "lavender/vlm/open_flamingo_release.h"

namespace lavender::cli {
namespace {

// A positive size given on the command line, or none.
std::optional<int64_t> flamingo_size_flag(const ArgParser& parser, const std::string& name) {
  if (!parser.has(name)) return std::nullopt;
  const int64_t v = parser.get_int(name);
  if (v < 1) throw Error("--" + name + ": must be at least 1");
  return v;
}

}  // namespace

int run_openflamingo_config(const Args& args) {
  ArgParser parser("openflamingo-config",
                   "Writes OUT/config.json for a downloaded OpenFlamingo release (which has no "
                   "config of its own) from its three parts: the sizes read from checkpoint.pt's "
                   "tensors, the token ids as upstream's factory adds <|endofchunk|>, <image> "
                   "and <PAD> to the language model's tokenizer, and OUT/tokenizer.json with "
                   "them. The result is checked against the checkpoint before it is written.");
  parser.option("checkpoint", "the release's checkpoint.pt");
  parser.option("lang", "the language model's folder (MPT: config.json, weights, tokenizer.json)");
  parser.option("vision", "the CLIP vision tower's folder (config.json, model.safetensors)");
  parser.option("out", "the folder to write config.json and tokenizer.json into");
  parser.option("cross-attn-every-n-layers",
                "override: a gated cross-attention layer before every n-th decoder block "
                "(default: the blocks the checkpoint has)");
  parser.option("perceiver-heads", "the Perceiver's heads (default 8, or width ÷ dim_head)");
  parser.option("perceiver-dim-head", "the Perceiver's head width (default 64, or width ÷ heads)");
  parser.option("xattn-heads", "the gated cross-attention's heads (default 8)");
  parser.option("xattn-dim-head", "the gated cross-attention's head width (default 64)");
  parser.flag("force", "replace an existing config.json or tokenizer file that differs");
  if (!parser.parse(args)) {
    std::printf("%s", parser.help().c_str());
    return 0;
  }
  vlm::OpenFlamingoReleaseOptions o;
  for (const char* name : {"checkpoint", "lang", "vision", "out"})
    if (parser.get(name).empty())
      throw Error("openflamingo-config: --" + std::string(name) + " is required\n" +
                  parser.usage());
  o.checkpoint = parser.get("checkpoint");
  o.lang = parser.get("lang");
  o.vision = parser.get("vision");
  o.out = parser.get("out");
  o.force = parser.has("force");
  o.sizes.cross_attn_every_n_layers = flamingo_size_flag(parser, "cross-attn-every-n-layers");
  o.sizes.perceiver = {flamingo_size_flag(parser, "perceiver-heads"),
                       flamingo_size_flag(parser, "perceiver-dim-head")};
  o.sizes.gated_xattn = {flamingo_size_flag(parser, "xattn-heads"),
                         flamingo_size_flag(parser, "xattn-dim-head")};

  const vlm::OpenFlamingoReleaseResult r = vlm::write_open_flamingo_config(o);
  const auto& c = r.config;
  std::printf("%s %s/config.json and tokenizer.json\n", r.unchanged ? "unchanged:" : "wrote",
              o.out.c_str());
  std::printf("  tokens: %lld in the tokenizer; <|endofchunk|> %lld, <image> %lld, pad %lld%s\n",
              static_cast<long long>(r.base_tokens), static_cast<long long>(c.eoc_token_id),
              static_cast<long long>(c.media_token_id), static_cast<long long>(*c.pad_token_id),
              r.pad_added ? " (<PAD> added)" : "");
  std::printf(
      "  perceiver: %lld layers, %lld latents, %lld × %lld heads\n",
      static_cast<long long>(c.perceiver.depth), static_cast<long long>(c.perceiver.num_latents),
      static_cast<long long>(c.perceiver.heads), static_cast<long long>(c.perceiver.dim_head));
  if (c.gated_xattn_layers)
    std::printf("  gated cross-attention layers: %zu\n", c.gated_xattn_layers->size());
  else
    std::printf("  gated cross-attention: before every %lld-th block\n",
                static_cast<long long>(c.cross_attn_every_n_layers));
  return 0;
}

}  // namespace lavender::cli
