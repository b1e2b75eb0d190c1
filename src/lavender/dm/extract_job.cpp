#include "lavender/dm/extract_job.h"

#include <torch/torch.h>

#include <filesystem>
#include <map>

#include "lavender/dm/extract.h"
#include "lavender/io/image.h"
#include "lavender/io/map_store.h"
#include "lavender/runtime/device.h"
#include "lavender/runtime/dtype.h"
#include "lavender/util/error.h"
#include "lavender/util/log.h"
#include "lavender/util/progress.h"

namespace lavender::dm {
namespace {

namespace fs = std::filesystem;
using data::ImageTextPair;

// This shard's pairs, in dataset order, after --limit; dataset problems are recorded as bad.
std::vector<ImageTextPair> shard_pairs(const ExtractJobOptions& o, std::vector<std::string>& bad) {
  auto read = data::read_dataset(o.data, o.images);
  bad.insert(bad.end(), read.problems.begin(), read.problems.end());
  std::vector<ImageTextPair> pairs;
  int64_t i = 0;
  for (const auto& record : read.records)
    for (auto& pair : data::image_text_pairs(record, o.text))
      if (i++ % o.shard_count == o.shard_index) pairs.push_back(std::move(pair));
  if (o.limit > 0 && static_cast<int64_t>(pairs.size()) > o.limit)
    pairs.resize(static_cast<size_t>(o.limit));
  return pairs;
}

// Why a text yields no map ("" when it does): it must have a word with a letter or digit.
std::string text_problem(const text::ClipTokenizer& tok, const std::string& text) {
  for (const auto& w : tok.encode_for_model(text, 0).words)
    if (is_content_word(w)) return "";
  return text.empty() ? "empty text" : "text has no word with a letter or digit";
}

struct Loaded {
  ImageTextPair pair;
  PreparedImage image;
  int width = 0, height = 0;
};

// The image of a pair, or the reason it cannot be used.
std::optional<Loaded> load_sample(const ImageTextPair& pair, int64_t size, std::string& why) {
  if (!fs::exists(pair.image)) {
    why = "image not found: " + pair.image;
    return std::nullopt;
  }
  try {
    io::Image img = io::read_image(pair.image);
    return Loaded{pair, prepare_image(img, size), img.width, img.height};
  } catch (const Error& e) {
    why = e.what();
    return std::nullopt;
  }
}

io::MapEntry entry_of(const Loaded& s, const SampleMaps& m) {
  io::MapEntry e;
  e.key = s.pair.key;
  e.image = s.pair.image;
  e.text = s.pair.text;
  e.words = m.words;
  e.token_spans = m.token_spans;
  e.extra = {{"truncated", m.truncated},
             {"image_size", {s.width, s.height}},
             {"crop", {s.image.crop.x, s.image.crop.y, s.image.crop.width, s.image.crop.height}},
             {"origin", s.pair.origin}};
  return e;
}

void write_batch(SdPipeline& p, const std::vector<Loaded>& batch, const Recipe& recipe,
                 uint64_t seed, io::MapStoreWriter& store, ExtractJobResult& result) {
  std::vector<at::Tensor> pixels;
  std::vector<std::string> texts;
  for (const auto& s : batch) {
    pixels.push_back(s.image.pixels);
    texts.push_back(s.pair.text);
  }
  auto maps = extract(p, torch::stack(pixels), texts, recipe, seed);
  for (size_t i = 0; i < batch.size(); ++i) {
    store.add(entry_of(batch[i], maps[i]), maps[i].maps);
    ++result.processed;
    if (maps[i].truncated) ++result.truncated;
  }
}

// Fails before the store is created when the UNet lacks the recipe's layers.
void check_recipe(SdPipeline& p, const Recipe& recipe) {
  const auto levels =
      p.pixel_space() ? 0 : static_cast<int64_t>(p.vae->config().block_out_channels.size()) - 1;
  const int64_t latent = recipe.image_size >> levels;
  select_layers(recipe, p.unet->cross_attention_layers(latent, latent));
}

void skip(const ImageTextPair& pair, const std::string& why, ExtractJobResult& result) {
  result.bad.push_back(pair.origin + ": " + why);
  log::warn(pair.origin, ": skipped: ", why);
}

nlohmann::json store_info(const ExtractJobOptions& o, const Recipe& recipe) {
  return {{"map_size", recipe.map_size},
          {"dtype", "float16"},
          {"recipe", recipe_to_json(recipe)},
          {"compute_dtype", o.dtype},
          {"model", fs::weakly_canonical(o.model).filename().string()}};
}

}  // namespace

std::string shard_store_path(const std::string& out, int64_t index, int64_t count) {
  if (count <= 1) return out;
  return out + "/part-" + std::to_string(index) + "-of-" + std::to_string(count);
}

std::pair<int64_t, int64_t> parse_shard(const std::string& text) {
  const size_t slash = text.find('/');
  try {
    if (slash != std::string::npos) {
      int64_t i = std::stoll(text.substr(0, slash)), n = std::stoll(text.substr(slash + 1));
      if (n > 0 && i >= 0 && i < n) return {i, n};
    }
  } catch (const std::exception&) {
  }
  throw Error("--shard: expected i/n with 0 <= i < n, got '" + text + "'");
}

ExtractJobResult run_extract_job(const ExtractJobOptions& o) {
  if (o.batch <= 0) throw Error("--batch must be positive");
  ExtractJobResult result;
  Recipe recipe = o.recipe;
  recipe.seed = o.seed;
  auto pairs = shard_pairs(o, result.bad);
  result.pairs = static_cast<int64_t>(pairs.size());
  const at::Device device = runtime::parse_device(o.device);  // bare "cuda": this rank's GPU
  const at::ScalarType dtype = runtime::parse_dtype(o.dtype);
  runtime::check_dtype_on_device(dtype, device);
  SdPipeline p = load_sd_pipeline(o.model, o.tokenizer, dtype, device);
  // A pixel-space model denoises images at its own resolution: prepare them at that size.
  recipe.image_size = p.image_size(recipe.image_size);
  check_recipe(p, recipe);
  result.store = shard_store_path(o.out, o.shard_index, o.shard_count);
  fs::create_directories(result.store);
  io::MapStoreWriter store(result.store, store_info(o, recipe));

  Progress progress("sd-attn", result.pairs, stderr, o.show_progress ? -1 : 0);
  std::vector<Loaded> batch;
  std::map<std::string, std::string> seen;  // key → origin: a TSV keys pairs by image path
  for (const auto& pair : pairs) {
    progress.advance();
    auto [first, fresh] = seen.emplace(pair.key, pair.origin);
    if (!fresh) {
      skip(pair, "duplicate key '" + pair.key + "' (first at " + first->second + ")", result);
      continue;
    }
    if (store.contains(pair.key)) {
      ++result.already_done;
      continue;
    }
    std::string why = text_problem(*p.tokenizer, pair.text);
    auto sample = why.empty() ? load_sample(pair, recipe.image_size, why) : std::nullopt;
    if (!sample) {
      skip(pair, why, result);
      continue;
    }
    batch.push_back(std::move(*sample));
    if (static_cast<int64_t>(batch.size()) == o.batch) {
      write_batch(p, batch, recipe, o.seed, store, result);
      batch.clear();
    }
  }
  if (!batch.empty()) write_batch(p, batch, recipe, o.seed, store, result);
  store.flush();
  progress.finish();
  return result;
}

}  // namespace lavender::dm
