#include "lavender/eval/store_figure.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

#include "lavender/io/map_store.h"
#include "lavender/util/error.h"

namespace lavender::eval {
namespace {

namespace fs = std::filesystem;

// A few stored keys that contain `key` (or the first few), for the "no such key" message.
std::string near_keys(const io::MapStoreReader& reader, const std::string& key) {
  std::vector<std::string> near;
  for (const auto& e : reader.entries())
    if (e.key.find(key) != std::string::npos && near.size() < 5) near.push_back(e.key);
  if (near.empty())
    for (const auto& e : reader.entries())
      if (near.size() < 5) near.push_back(e.key);
  std::string out;
  for (const auto& k : near) out += (out.empty() ? "" : ", ") + ("\"" + k + "\"");
  return out;
}

// The square region the maps cover, from the crop the extraction recorded (whole image when
// the entry has none).
io::Image crop_view(const io::Image& image, const nlohmann::json& extra) {
  int x = 0, y = 0, w = image.width, h = image.height;
  if (extra.contains("crop") && extra["crop"].is_array() && extra["crop"].size() == 4) {
    x = extra["crop"][0].get<int>(), y = extra["crop"][1].get<int>();
    w = extra["crop"][2].get<int>(), h = extra["crop"][3].get<int>();
  }
  x = std::clamp(x, 0, image.width - 1), y = std::clamp(y, 0, image.height - 1);
  w = std::clamp(w, 1, image.width - x), h = std::clamp(h, 1, image.height - y);
  io::Image out;
  out.width = w, out.height = h, out.channels = 3;
  for (int r = 0; r < h; ++r) {
    const uint8_t* src = image.row(y + r) + static_cast<size_t>(x) * 3;
    out.pixels.insert(out.pixels.end(), src, src + static_cast<size_t>(w) * 3);
  }
  return out;
}

std::string resolve_image(const std::string& stored, const std::string& root) {
  if (!root.empty() && fs::path(stored).is_relative()) return (fs::path(root) / stored).string();
  return stored;
}

}  // namespace

StoreFigure store_figure(const std::string& store, const std::string& key,
                         const StoreFigureOptions& o) {
  auto reader = io::MapStoreReader::open(store);
  if (!reader.contains(key))
    throw Error(store + ": no maps for \"" + key + "\"; stored keys include " +
                near_keys(reader, key));
  const io::MapEntry& entry = reader.entry(key);
  at::Tensor maps = reader.maps(key).to(torch::kFloat).clamp(0, 1).contiguous();
  const auto side = static_cast<int>(maps.size(1));

  std::vector<WordMap> panels;
  auto add = [&](size_t w) {
    at::Tensor m = maps[static_cast<int64_t>(w)];
    panels.push_back(
        {entry.words[w], {m.data_ptr<float>(), m.data_ptr<float>() + m.numel()}, side});
  };
  if (o.words.empty()) {
    for (size_t w = 0; w < entry.words.size(); ++w) add(w);
  } else {
    for (const auto& want : o.words) {
      auto it = std::find(entry.words.begin(), entry.words.end(), want);
      if (it == entry.words.end())
        throw Error(store + ": \"" + key + "\" has no map for the word \"" + want + "\"");
      add(static_cast<size_t>(it - entry.words.begin()));
    }
  }

  StoreFigure out;
  io::Image view;
  const std::string path = resolve_image(entry.image, o.images);
  try {
    view = crop_view(io::read_image(path), entry.extra);
  } catch (const Error& e) {
    out.note = std::string(e.what()) + " (maps drawn over grey; --images sets the image root)";
  }
  FigureOptions figure = o.figure;
  if (figure.title.empty()) figure.title = entry.text;
  out.image = word_map_figure(view, panels, figure);
  return out;
}

}  // namespace lavender::eval
