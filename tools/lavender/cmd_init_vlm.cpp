#include <cstdio>
#include <string>

#include "commands.h"
#include "lavender/data/dataset.h"
#include "lavender/text/chat_template.h"
#include "lavender/train/training_data.h"
#include "lavender/util/args.h"
#include "lavender/util/error.h"
#include "lavender/scratch/scratch_llava.h"

namespace lavender::cli {

int run_init_vlm(const Args& args) {
  const scratch::ScratchLlavaOptions d;
  ArgParser parser("init-vlm",
                   "Writes a LLaVA-architecture model with random weights as a Hugging Face "
                   "folder (config, byte-level tokenizer, preprocessor, weights), ready for "
                   "`lavender train` from scratch.");
  parser.option("out", "the model folder to write (replaced if it exists)");
  parser.option("image-size", "square input size in pixels", std::to_string(d.image_size));
  parser.option("patch-size", "vision patch size", std::to_string(d.patch_size));
  parser.option("vision-hidden", "vision tower width", std::to_string(d.vision_hidden));
  parser.option("vision-layers", "vision encoder layers", std::to_string(d.vision_layers));
  parser.option("vision-heads", "vision attention heads", std::to_string(d.vision_heads));
  parser.option("text-hidden", "decoder width", std::to_string(d.text_hidden));
  parser.option("text-layers", "decoder layers", std::to_string(d.text_layers));
  parser.option("text-heads", "decoder attention heads", std::to_string(d.text_heads));
  parser.option("mlp-ratio", "MLP width ÷ model width", std::to_string(d.mlp_ratio));
  parser.option("seed", "initialisation seed", std::to_string(d.seed));
  parser.option("corpus",
                "comma-separated datasets (conversations or captions) whose text, in the LLaVA "
                "chat format, the byte-level tokenizer learns merges from (default: bytes only)");
  if (!parser.parse(args)) {
    std::printf("%s", parser.help().c_str());
    return 0;
  }
  if (parser.get("out").empty()) throw Error("init-vlm: --out is required\n" + parser.usage());
  scratch::ScratchLlavaOptions o;
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
  for (const auto& path : parser.get_list("corpus")) {
    const data::DatasetReadResult dataset = data::read_dataset(path);
    for (const auto& sample : train::training_samples(dataset).samples)
      o.corpus.push_back(text::chat_text(
          text::render_chat(text::ChatFormat::llava15, sample.messages, false)));
  }
  scratch::write_scratch_llava(parser.get("out"), o);
  std::printf("wrote %s\n", parser.get("out").c_str());
  return 0;
}

}  // namespace lavender::cli
