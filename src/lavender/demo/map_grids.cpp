#include "lavender/demo/map_grids.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "lavender/align/map_ops.h"
#include "lavender/align/word_match.h"
#include "lavender/eval/map_grid_figure.h"
#include "lavender/io/image.h"
#include "lavender/io/map_store.h"
#include "lavender/util/atomic_file.h"
#include "lavender/util/error.h"
#include "lavender/util/log.h"
#include "lavender/util/remove_tree.h"

namespace lavender::demo {
namespace {

namespace fs = std::filesystem;

struct Source {
  std::string header;
  std::optional<io::MapStoreReader> store;
};

std::optional<io::MapStoreReader> open_if_there(const std::string& dir) {
  if (!fs::exists(dir)) return std::nullopt;
  try {
    return io::MapStoreReader::open(dir);
  } catch (const Error& e) {
    log::warn("report: ", e.what());
    return std::nullopt;
  }
}

// The map of `word` in `key`, min-max normalised so every panel spans the colour scale (the
// sources' scales differ: attention probabilities, normalised maps, 0/1 masks); empty when the
// store lacks the key or the word.
std::vector<float> word_map(const std::optional<io::MapStoreReader>& store, const std::string& key,
                            const std::string& word) {
  if (!store || !store->contains(key)) return {};
  const auto& words = store->entry(key).words;
  for (size_t i = 0; i < words.size(); ++i) {
    if (align::match_spelling(words[i]) != word) continue;
    const at::Tensor m =
        align::minmax_normalise(store->maps(key)[static_cast<int64_t>(i)].to(torch::kFloat))
            .contiguous();
    return {m.data_ptr<float>(), m.data_ptr<float>() + m.numel()};
  }
  return {};
}

io::Image read_image_or_blank(const std::string& world, const std::string& path) {
  const fs::path p = fs::path(path).is_absolute() ? fs::path(path) : fs::path(world) / path;
  try {
    return io::read_image(p.string());
  } catch (const Error& e) {
    log::warn("report: ", e.what());
    return {};
  }
}

constexpr int kGridPanel = 96;  // pixels per panel, in the PNG and in the report

// One record (a question about one image) of a split's grid: a panel per word and source, each
// written by `write_tile` (named `<prefix>-w<word>-c<source>`), the record's report JSON
// ({question, image, words: [{word, tiles}]}, null tiles where a source lacks the word's map),
// and its rows of the standalone PNG appended to `rows`.
nlohmann::json grid_record(
    const std::vector<Source>& sources, const io::MapEntry& entry, const std::string& world,
    const std::string& prefix,
    const std::function<std::string(const io::Image&, const std::string&)>& write_tile,
    std::vector<eval::MapGridRow>* rows) {
  const io::Image image = read_image_or_blank(world, entry.image);
  nlohmann::json words = nlohmann::json::array();
  for (size_t w = 0; w < entry.words.size(); ++w) {
    eval::MapGridRow row;
    row.image = image;
    row.label = align::match_spelling(entry.words[w]);
    nlohmann::json tiles = nlohmann::json::array();
    for (size_t c = 0; c < sources.size(); ++c) {
      row.maps.push_back(word_map(sources[c].store, entry.key, row.label));
      const std::string name = prefix + "-w" + std::to_string(w) + "-c" + std::to_string(c);
      tiles.push_back(row.maps.back().empty()
                          ? nlohmann::json(nullptr)
                          : nlohmann::json(write_tile(
                                eval::map_panel(image, row.maps.back(), kGridPanel), name)));
    }
    words.push_back({{"word", row.label}, {"tiles", tiles}});
    rows->push_back(std::move(row));
  }
  if (!entry.words.empty()) rows->back().note = entry.text;  // the question under its last word
  return {{"question", entry.text},
          {"image", write_tile(eval::image_panel(image, kGridPanel), prefix + "-image")},
          {"words", words}};
}

}  // namespace

std::string saved_vlm_maps(const std::string& out, const std::string& model,
                           const std::string& split) {
  return out + "/eval/" + model + "/" + split + "/vlm-maps";
}

nlohmann::json write_map_grids(const DemoOptions& options, int records_per_split) {
  nlohmann::json figures = nlohmann::json::array();
  const std::string world = options.out + "/world";
  for (const auto& split : demo_test_splits()) {
    std::vector<Source> sources;
    sources.push_back({"truth", open_if_there(world + "/truth/" + split)});
    if (!sources[0].store) continue;
    sources.push_back({"DM", open_if_there(options.out + "/dm-maps/" + split)});
    sources.push_back({"before", open_if_there(saved_vlm_maps(options.out, "pretrain", split))});
    for (const auto& arm : demo_arms())
      sources.push_back(
          {arm.short_title, open_if_there(saved_vlm_maps(options.out, arm.name + "-s0", split))});

    const io::MapStoreReader& truth = *sources[0].store;  // bound once `sources` stops growing
    // The first records the fine-tuned VLMs kept maps for (else the truth's first ones).
    std::vector<std::string> keys;
    const auto& kept = sources.back().store;
    for (const auto& e : kept ? kept->entries() : truth.entries()) {
      if (static_cast<int>(keys.size()) == records_per_split) break;
      if (truth.contains(e.key)) keys.push_back(e.key);
    }

    // The panels go to one standalone PNG and, one file per panel, to the HTML report's grid,
    // which labels them with text (nlohmann::json null: a source without the word's map).
    const std::string tile_dir = "figures/maps-" + split;
    remove_tree(options.out + "/" + tile_dir);  // panels of an earlier run's records
    fs::create_directories(options.out + "/" + tile_dir);
    const auto write_tile = [&](const io::Image& panel, const std::string& name) {
      const std::string file = tile_dir + "/" + name + ".png";
      write_file_atomically(options.out + "/" + file, io::encode_png(panel));
      return file;
    };
    nlohmann::json records = nlohmann::json::array();
    std::vector<eval::MapGridRow> rows;
    for (size_t k = 0; k < keys.size(); ++k)
      records.push_back(grid_record(sources, truth.entry(keys[k]), world, "r" + std::to_string(k),
                                    write_tile, &rows));
    if (rows.empty()) continue;
    std::vector<std::string> headers = {"image"};
    for (const auto& s : sources) headers.push_back(s.header);
    eval::MapGridOptions grid;
    grid.panel = kGridPanel;
    grid.title = split;
    const std::string file = "figures/maps-" + split + ".png";
    write_file_atomically(options.out + "/" + file,
                          io::encode_png(eval::map_grid_figure(headers, rows, grid)));
    figures.push_back(
        {{"title", "Per-word maps, " + split},
         {"caption",
          "Each row is one word of the question above it: the image, the ground-truth mask, the "
          "diffusion model's map (DM) and the VLM's attention before fine-tuning and after SFT, "
          "Lavender with the DM's maps (Lavender-DM) and Lavender with ground-truth maps "
          "(Lavender-GT), first seed; every map min-max normalised, red high, blue low."},
         {"file", file},
         {"grid", {{"columns", headers}, {"records", records}}}});
  }
  return figures;
}

}  // namespace lavender::demo
