#include <cstdio>
#include <string>

#include "commands.h"
#include "lavender/data/dataset.h"
#include "lavender/scratch/scratch_llava.h"
#include "lavender/scratch/scratch_minicpmv.h"
#include "lavender/scratch/scratch_open_flamingo.h"
#include "lavender/text/chat_template.h"
#include "lavender/train/training_data.h"
#include "lavender/util/args.h"
#include "lavender/util/error.h"

namespace lavender::cli {
namespace {

// The sizes every family has, from the flags given into its options struct; a flag left out
// keeps the family's own default (a MiniCPM-V's decoder is 128 wide where LLaVA's is 64).
template <typename Options>
void read_common_init_flags(const ArgParser& parser, Options& o) {
  auto read = [&](const char* flag, int64_t& field) {
    if (parser.has(flag)) field = parser.get_int(flag);
  };
  read("image-size", o.image_size);
  read("patch-size", o.patch_size);
  read("vision-hidden", o.vision_hidden);
  read("vision-layers", o.vision_layers);
  read("vision-heads", o.vision_heads);
  read("text-hidden", o.text_hidden);
  read("text-layers", o.text_layers);
  read("text-heads", o.text_heads);
  read("mlp-ratio", o.mlp_ratio);
  o.seed = static_cast<uint64_t>(parser.get_int("seed"));
}

// A size's default as the help shows it: one number, or each family's where they differ. (Only
// shown: read_common_init_flags reads a size only when it is given.)
std::string family_defaults(int64_t llava, int64_t openflamingo, int64_t minicpmv) {
  if (llava == openflamingo && openflamingo == minicpmv) return std::to_string(llava);
  return "llava " + std::to_string(llava) + ", openflamingo " + std::to_string(openflamingo) +
         ", minicpmv " + std::to_string(minicpmv);
}

// The corpus's conversations as the family's chat format renders them, which is the text its
// tokenizer will read in training.
std::vector<std::string> init_corpus_texts(const ArgParser& parser, text::ChatFormat format) {
  std::vector<std::string> out;
  for (const auto& path : parser.get_list("corpus")) {
    const data::DatasetReadResult dataset = data::read_dataset(path);
    for (const auto& sample : train::training_samples(dataset).samples)
      out.push_back(text::chat_text(text::render_chat(format, sample.messages, false)));
  }
  return out;
}

}  // namespace

int run_init_vlm(const Args& args) {
  const scratch::ScratchLlavaOptions d;
  const scratch::ScratchOpenFlamingoOptions f;
  const scratch::ScratchMiniCpmVOptions m;
  ArgParser parser("init-vlm",
                   "Writes a VLM with random weights, ready for `lavender train` from scratch: "
                   "a LLaVA-architecture Hugging Face folder (config, byte-level tokenizer, "
                   "preprocessor, weights), an OpenFlamingo (CLIP-style tower, Perceiver, MPT "
                   "with gated cross-attention) in the layout lavender saves one in, or a "
                   "MiniCPM-Llama3-V 2.5 (SigLIP-style tower, one-layer resampler, Llama 3 "
                   "decoder, the release's image slicing) in the release's layout.");
  parser.option("out", "the model folder to write (replaced if it exists)");
  parser.option("family", "llava | openflamingo | minicpmv", "llava");
  parser.option("image-size",
                "square input size in pixels (minicpmv: the size of the source picture and of "
                "each slice, its scale_resolution; larger images are sliced)",
                family_defaults(d.image_size, f.image_size, m.image_size));
  parser.option("patch-size", "vision patch size",
                family_defaults(d.patch_size, f.patch_size, m.patch_size));
  parser.option("vision-hidden", "vision tower width",
                family_defaults(d.vision_hidden, f.vision_hidden, m.vision_hidden));
  parser.option("vision-layers", "vision encoder layers",
                family_defaults(d.vision_layers, f.vision_layers, m.vision_layers));
  parser.option("vision-heads", "vision attention heads",
                family_defaults(d.vision_heads, f.vision_heads, m.vision_heads));
  parser.option("text-hidden", "decoder width (minicpmv: a multiple of 128)",
                family_defaults(d.text_hidden, f.text_hidden, m.text_hidden));
  parser.option("text-layers", "decoder layers",
                family_defaults(d.text_layers, f.text_layers, m.text_layers));
  parser.option("text-heads", "decoder attention heads",
                family_defaults(d.text_heads, f.text_heads, m.text_heads));
  parser.option("mlp-ratio", "MLP width ÷ model width",
                family_defaults(d.mlp_ratio, f.mlp_ratio, m.mlp_ratio));
  parser.option("latents",
                "openflamingo: the Perceiver's latents per image; minicpmv: the resampler's "
                "queries per picture (a square number keeps `--latent-maps square` a plain "
                "raster)",
                "openflamingo " + std::to_string(f.num_latents) + ", minicpmv " +
                    std::to_string(m.query_num));
  parser.option("perceiver-depth", "openflamingo: Perceiver layers",
                std::to_string(f.perceiver_depth));
  parser.option("cross-attn-every",
                "openflamingo: a gated cross-attention layer before every n-th decoder block",
                std::to_string(f.cross_attn_every));
  parser.option("max-slices", "minicpmv: slices per image at most (max_slice_nums)",
                std::to_string(m.max_slice_nums));
  parser.option("seed", "initialisation seed", std::to_string(d.seed));
  parser.option("corpus",
                "comma-separated datasets (conversations or captions) whose text, in the "
                "family's chat format, the byte-level tokenizer learns merges from (default: "
                "bytes only)");
  if (!parser.parse(args)) {
    std::printf("%s", parser.help().c_str());
    return 0;
  }
  if (parser.get("out").empty()) throw Error("init-vlm: --out is required\n" + parser.usage());
  const std::string family = parser.get("family");
  if (family == "llava") {
    scratch::ScratchLlavaOptions o;
    read_common_init_flags(parser, o);
    o.corpus = init_corpus_texts(parser, text::ChatFormat::llava15);
    scratch::write_scratch_llava(parser.get("out"), o);
  } else if (family == "openflamingo") {
    scratch::ScratchOpenFlamingoOptions o;
    read_common_init_flags(parser, o);
    if (parser.has("latents")) o.num_latents = parser.get_int("latents");
    o.perceiver_depth = parser.get_int("perceiver-depth");
    o.cross_attn_every = parser.get_int("cross-attn-every");
    o.corpus = init_corpus_texts(parser, text::ChatFormat::open_flamingo);
    scratch::write_scratch_open_flamingo(parser.get("out"), o);
  } else if (family == "minicpmv") {
    scratch::ScratchMiniCpmVOptions o;
    read_common_init_flags(parser, o);
    if (parser.has("latents")) o.query_num = parser.get_int("latents");
    o.max_slice_nums = parser.get_int("max-slices");
    o.corpus = init_corpus_texts(parser, text::ChatFormat::minicpmv);
    scratch::write_scratch_minicpmv(parser.get("out"), o);
  } else {
    throw Error("init-vlm: --family \"" + family + "\" is not one lavender builds from scratch " +
                "(expected llava, openflamingo or minicpmv)");
  }
  std::printf("wrote %s\n", parser.get("out").c_str());
  return 0;
}

}  // namespace lavender::cli
