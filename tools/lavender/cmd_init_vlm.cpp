#include <cstdio>
#include <string>

#include "commands.h"
#include "lavender/data/dataset.h"
#include "lavender/scratch/scratch_llava.h"
#include "lavender/scratch/scratch_open_flamingo.h"
#include "lavender/text/chat_template.h"
#include "lavender/train/training_data.h"
#include "lavender/util/args.h"
#include "lavender/util/error.h"

namespace lavender::cli {
namespace {

// The sizes both families share, from the flags into either options struct.
template <typename Options>
void read_common_init_flags(const ArgParser& parser, Options& o) {
  o.image_size = parser.get_int("image-size");
  o.patch_size = parser.get_int("patch-size");
  o.vision_hidden = parser.get_int("vision-hidden");
  o.vision_layers = parser.get_int("vision-layers");
  o.vision_heads = parser.get_int("vision-heads");
  o.text_hidden = parser.get_int("text-hidden");
  o.text_layers = parser.get_int("text-layers");
  o.text_heads = parser.get_int("text-heads");
  o.mlp_ratio = parser.get_int("mlp-ratio");
  o.seed = static_cast<uint64_t>(parser.get_int("seed"));
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
  ArgParser parser("init-vlm",
                   "Writes a VLM with random weights, ready for `lavender train` from scratch: "
                   "a LLaVA-architecture Hugging Face folder (config, byte-level tokenizer, "
                   "preprocessor, weights), or an OpenFlamingo (CLIP-style tower, Perceiver, "
                   "MPT with gated cross-attention) in the layout lavender saves one in.");
  parser.option("out", "the model folder to write (replaced if it exists)");
  parser.option("family", "llava | openflamingo", "llava");
  parser.option("image-size", "square input size in pixels", std::to_string(d.image_size));
  parser.option("patch-size", "vision patch size", std::to_string(d.patch_size));
  parser.option("vision-hidden", "vision tower width", std::to_string(d.vision_hidden));
  parser.option("vision-layers", "vision encoder layers", std::to_string(d.vision_layers));
  parser.option("vision-heads", "vision attention heads", std::to_string(d.vision_heads));
  parser.option("text-hidden", "decoder width", std::to_string(d.text_hidden));
  parser.option("text-layers", "decoder layers", std::to_string(d.text_layers));
  parser.option("text-heads", "decoder attention heads", std::to_string(d.text_heads));
  parser.option("mlp-ratio", "MLP width ÷ model width", std::to_string(d.mlp_ratio));
  parser.option("latents",
                "openflamingo: the Perceiver's latents per image (a square number keeps "
                "`--latent-maps square` a plain raster)",
                std::to_string(f.num_latents));
  parser.option("perceiver-depth", "openflamingo: Perceiver layers",
                std::to_string(f.perceiver_depth));
  parser.option("cross-attn-every",
                "openflamingo: a gated cross-attention layer before every n-th decoder block",
                std::to_string(f.cross_attn_every));
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
    o.num_latents = parser.get_int("latents");
    o.perceiver_depth = parser.get_int("perceiver-depth");
    o.cross_attn_every = parser.get_int("cross-attn-every");
    o.corpus = init_corpus_texts(parser, text::ChatFormat::open_flamingo);
    scratch::write_scratch_open_flamingo(parser.get("out"), o);
  } else {
    throw Error("init-vlm: --family \"" + family + "\" is not one lavender builds from scratch " +
                "(expected llava or openflamingo)");
  }
  std::printf("wrote %s\n", parser.get("out").c_str());
  return 0;
}

}  // namespace lavender::cli
