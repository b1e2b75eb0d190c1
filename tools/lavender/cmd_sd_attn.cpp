#include <cstdio>
#include <cstdlib>

#include "commands.h"
#include "lavender/dm/extract_job.h"
#include "lavender/util/args.h"
#include "lavender/util/error.h"

namespace lavender::cli {
namespace {

data::TextChoice parse_text_choice(const std::string& name) {
  if (name == "assistant") return data::TextChoice::assistant;
  if (name == "user") return data::TextChoice::user;
  if (name == "all") return data::TextChoice::all_turns;
  if (name == "caption") return data::TextChoice::caption;
  throw Error("--text: expected assistant, user, all or caption, got '" + name + "'");
}

// --shard wins; otherwise torchrun's RANK / WORLD_SIZE, so one command line serves every rank.
std::pair<int64_t, int64_t> resolve_shard(const ArgParser& parser) {
  if (parser.has("shard")) return dm::parse_shard(parser.get("shard"));
  const char* rank = std::getenv("RANK");
  const char* world = std::getenv("WORLD_SIZE");
  if (rank && world) return dm::parse_shard(std::string(rank) + "/" + world);
  return {0, 1};
}

dm::ExtractJobOptions job_options(const ArgParser& parser) {
  dm::ExtractJobOptions o;
  o.model = parser.get("model");
  o.data = parser.get("data");
  o.images = parser.get("images");
  o.out = parser.get("out");
  o.tokenizer = parser.get("tokenizer");
  o.recipe = dm::recipe_preset(parser.get("recipe"));
  if (parser.has("image-size")) o.recipe.image_size = parser.get_int("image-size");
  if (parser.has("map-size")) o.recipe.map_size = parser.get_int("map-size");
  if (parser.has("timesteps")) {
    o.recipe.timesteps = parser.get_int_list("timesteps");
    for (int64_t t : o.recipe.timesteps)
      if (t < 0) throw Error("sd-attn: --timesteps must be >= 0");
    if (o.recipe.timesteps.empty()) throw Error("sd-attn: --timesteps needs at least one value");
  }
  if (parser.has("factors")) {
    // Equal weights: the recipe's own weights only make sense for its own factors.
    const auto factors = parser.get_int_list("factors");
    if (factors.empty()) throw Error("sd-attn: --factors needs at least one value");
    o.recipe.layers.clear();
    for (int64_t f : factors)
      o.recipe.layers.push_back({f, 1.0 / static_cast<double>(factors.size())});
  }
  if (parser.has("contrast-power")) {
    o.recipe.contrast_power = parser.get_double("contrast-power");
    if (!(o.recipe.contrast_power >= 0)) throw Error("sd-attn: --contrast-power must be >= 0");
  }
  o.text = parse_text_choice(parser.get("text"));
  o.batch = parser.get_int("batch");
  o.device = parser.get("device");
  o.dtype = parser.get("dtype");
  std::tie(o.shard_index, o.shard_count) = resolve_shard(parser);
  o.limit = parser.get_int("limit");
  o.seed = static_cast<uint64_t>(parser.get_int("seed"));
  return o;
}

void print_summary(const dm::ExtractJobResult& r) {
  std::printf(
      "sd-attn: %lld pairs in this shard: %lld written (%lld with truncated text), %lld "
      "already in the store, %zu skipped as bad\nstore: %s\n",
      static_cast<long long>(r.pairs), static_cast<long long>(r.processed),
      static_cast<long long>(r.truncated), static_cast<long long>(r.already_done), r.bad.size(),
      r.store.c_str());
  for (const auto& b : r.bad) std::printf("  bad: %s\n", b.c_str());
}

}  // namespace

int run_sd_attn(const Args& args) {
  ArgParser parser("sd-attn",
                   "Draws Stable Diffusion's per-word cross-attention maps (the Lavender teacher) "
                   "for every image-text pair of a dataset into a map store. Resumable: keys "
                   "already in the store are skipped. Bad samples are reported and skipped.");
  parser.option("model", "diffusers Stable Diffusion folder (text_encoder, vae, unet, scheduler)")
      .option("data", "dataset file (LLaVA JSON/JSONL, Karpathy JSON, or image<TAB>text)")
      .option("images", "root folder for relative image paths")
      .option("out", "map store folder (created or resumed)")
      .option("tokenizer", "tokenizer file or folder (default: MODEL/tokenizer)")
      .option("recipe", "single-pass | p2p | daam | small-dm (train-dm models)", "single-pass")
      .option("image-size",
              "square crop fed to the VAE (default: the recipe's, 512; a pixel-space model "
              "always uses its own sample_size)")
      .option("map-size", "side of the stored maps (default: the recipe's, 32)")
      .option("timesteps", "comma-separated noise timesteps, replacing the recipe's (e.g. 50,150)")
      .option("factors",
              "comma-separated downsampling factors of the layers to read, equal weights, "
              "replacing the recipe's (1: the UNet's input resolution)")
      .option("contrast-power",
              "how heads combine, replacing the recipe's: 0, their mean (the published recipes); "
              "k > 0, each head's map relative to its image mean, weighted by its coefficient of "
              "variation^k (small-dm: 4)")
      .option("text", "assistant | user | all | caption (caption data always uses captions)",
              "assistant")
      .option("batch", "images per UNet pass", "4")
      .option("device", "cpu | cuda | cuda:N", "cpu")
      .option("dtype", "fp32 | fp16 (CUDA) | bf16: the models' compute precision", "fp32")
      .option("shard", "i/n: this process's share (default: $RANK/$WORLD_SIZE, else 0/1)")
      .option("limit", "at most this many pairs of this shard (0: all)", "0")
      .option("seed", "noise seed", "0");
  if (!parser.parse(args)) {
    std::printf("%s", parser.help().c_str());
    return 0;
  }
  for (const char* required : {"model", "data", "out"})
    if (!parser.has(required)) throw Error(std::string("sd-attn: --") + required + " is required");
  auto result = dm::run_extract_job(job_options(parser));
  print_summary(result);
  return result.processed + result.already_done > 0 ? 0 : 2;
}

}  // namespace lavender::cli
