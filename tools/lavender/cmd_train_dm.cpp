#include <algorithm>
#include <cstdio>

#include "commands.h"
#include "lavender/data/dataset.h"
#include "lavender/scratch/train_dm.h"
#include "lavender/util/args.h"
#include "lavender/util/error.h"

namespace lavender::cli {
namespace {

// --quick: the demo's CI preset (about 20 s on 2 cores); explicit options still win.
constexpr int64_t kQuickSteps = 80;

scratch::TrainDmOptions train_dm_options(const ArgParser& parser) {
  scratch::TrainDmOptions o;
  o.data = parser.get("data");
  o.text_data = parser.get_list("text-data");
  o.images = parser.get("images");
  o.out = parser.get("out");
  o.steps = parser.has("steps") || !parser.has("quick") ? parser.get_int("steps") : kQuickSteps;
  o.batch = parser.get_int("batch");
  o.lr = parser.get_double("lr");
  o.warmup_steps = std::min<int64_t>(parser.get_int("warmup"), o.steps / 5);
  o.caption_dropout = parser.get_double("caption-dropout");
  o.seed = static_cast<uint64_t>(parser.get_int("seed"));
  o.log_every = parser.get_int("log-every");
  o.spec.image_size = parser.get_int("image-size");
  o.spec.channels = parser.get_int_list("channels");
  o.spec.first_attention_level = parser.get_int("first-attention-level");
  o.spec.self_attention = parser.has("self-attention");
  o.spec.heads = parser.get_int("heads");
  o.spec.text_hidden = parser.get_int("text-hidden");
  o.spec.text_layers = parser.get_int("text-layers");
  // Every turn of every conversation: the teacher may be asked for maps of any of them.
  for (const auto& path : parser.get_list("vocabulary-data"))
    for (const auto& record : data::read_dataset(path).records)
      for (const auto& pair : data::image_text_pairs(record, data::TextChoice::all_turns))
        o.vocabulary_texts.push_back(pair.text);
  return o;
}

}  // namespace

int run_train_dm(const Args& args) {
  ArgParser parser("train-dm",
                   "Trains a small pixel-space text-to-image diffusion model from scratch "
                   "(epsilon-prediction loss) on image-caption data and writes a diffusers "
                   "folder (unet, text_encoder, scheduler, tokenizer; no vae) that sd-attn reads.");
  parser.option("data", "dataset file (LLaVA JSON/JSONL with the caption as reply, Karpathy JSON, "
                        "or image<TAB>text)")
      .option("vocabulary-data",
              "comma-separated datasets whose texts (all turns) the tokenizer and text length "
              "must also serve, e.g. the questions the teacher will draw maps for")
      .option("text-data",
              "comma-separated datasets also trained on, each record's whole conversation (every "
              "turn) as the image's text: the question-answer texts the maps will be drawn for")
      .option("images", "root folder for relative image paths (default: the dataset's folder)")
      .option("out", "output model folder (must not exist, or be a finished one)")
      .option("steps", "optimizer steps", "500")
      .option("batch", "images per step", "32")
      .option("lr", "peak learning rate (AdamW, warm-up then cosine)", "1e-3")
      .option("warmup", "warm-up steps", "50")
      .option("caption-dropout", "probability of training on the empty caption (for guidance)",
              "0.1")
      .option("image-size", "side of the square images the model learns (pixels)", "32")
      .option("channels", "UNet channels per level, comma-separated", "16,32,32")
      .option("first-attention-level",
              "first level (0: full resolution) with cross-attention; it and the levels below "
              "carry attention blocks",
              "1")
      .flag("self-attention", "also self-attention in the attention blocks (slower; by default "
                              "they attend only to the text)")
      .option("heads", "attention heads per UNet block", "2")
      .option("text-hidden", "text encoder width", "64")
      .option("text-layers", "text encoder layers", "2")
      .option("seed", "initialisation, batch order and noise seed", "0")
      .option("log-every", "steps per metrics.jsonl line", "25")
      .flag("quick", "a short run for CI (80 steps unless --steps is given)");
  if (!parser.parse(args)) {
    std::printf("%s", parser.help().c_str());
    return 0;
  }
  for (const char* required : {"data", "out"})
    if (!parser.has(required))
      throw Error(std::string("train-dm: --") + required + " is required");
  const auto o = train_dm_options(parser);
  const auto r = scratch::train_dm(o);
  if (r.already_trained) {
    std::printf("train-dm: %s is already trained; nothing to do\n", o.out.c_str());
    return 0;
  }
  std::printf(
      "train-dm: %lld pairs, %lld steps in %.1f s (%.2f steps/s); loss %.4f -> %.4f\n"
      "UNet %lld parameters, text encoder %lld, vocabulary %lld tokens\nmodel: %s\n",
      static_cast<long long>(r.pairs), static_cast<long long>(r.steps), r.seconds,
      r.steps_per_second, r.first_loss, r.last_loss, static_cast<long long>(r.unet_parameters),
      static_cast<long long>(r.text_parameters), static_cast<long long>(r.vocab_size),
      o.out.c_str());
  return 0;
}

}  // namespace lavender::cli
