#include "lavender/io/authors_layout.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

#include "lavender/io/image.h"
#include "lavender/util/error.h"

namespace fs = std::filesystem;

namespace lavender::io {
namespace {

constexpr const char* kPrefix = "attention_";

// A word can become a file name if it has no path separators and is not "." or "..".
bool safe_file_word(const std::string& word) {
  return !word.empty() && word != "." && word != ".." &&
         word.find_first_of("/\\") == std::string::npos && word.find('\0') == std::string::npos;
}

at::Tensor grey_to_map(const Image& grey, int64_t size) {
  at::Tensor m = torch::from_blob(const_cast<uint8_t*>(grey.pixels.data()),
                                  {1, 1, grey.height, grey.width}, torch::kUInt8)
                     .to(torch::kFloat)
                     .div(255.0);
  if (grey.height != size || grey.width != size)
    m = torch::nn::functional::interpolate(m, torch::nn::functional::InterpolateFuncOptions()
                                                  .size(std::vector<int64_t>{size, size})
                                                  .mode(torch::kBilinear)
                                                  .align_corners(false));
  return m[0][0];
}

Image map_to_grey(const at::Tensor& map) {
  at::Tensor bytes =
      (map.to(torch::kFloat).clamp(0, 1) * 255.0).round().to(torch::kUInt8).contiguous();
  Image grey{static_cast<int>(map.size(1)), static_cast<int>(map.size(0)), 1, {}};
  grey.pixels.assign(bytes.data_ptr<uint8_t>(), bytes.data_ptr<uint8_t>() + bytes.numel());
  return grey;
}

}  // namespace

bool is_authors_layout(const std::string& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return false;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.is_directory() && fs::is_directory(e.path() / "lpm_attention" / e.path().filename().stem()))
      return true;
  return false;
}

AuthorsImportReport import_authors_layout(const std::string& root, MapStoreWriter& store,
                                          int64_t map_size) {
  if (!fs::is_directory(root)) throw Error(root + ": not a folder");
  AuthorsImportReport report;
  std::vector<fs::path> image_dirs;
  for (const auto& e : fs::directory_iterator(root))
    if (e.is_directory()) image_dirs.push_back(e.path());
  std::sort(image_dirs.begin(), image_dirs.end());
  for (const auto& dir : image_dirs) {
    const std::string key = dir.filename().string();
    const fs::path maps_dir = dir / "lpm_attention" / fs::path(key).stem();
    if (!fs::is_directory(maps_dir)) continue;  // not an image folder of this layout
    if (store.contains(key)) {
      ++report.skipped;
      continue;
    }
    std::vector<std::pair<std::string, at::Tensor>> words;
    for (const auto& f : fs::directory_iterator(maps_dir)) {
      std::string name = f.path().filename().string();
      if (f.path().extension() != ".jpg" || name.rfind(kPrefix, 0) != 0) continue;
      std::string word = f.path().stem().string().substr(std::char_traits<char>::length(kPrefix));
      try {
        words.emplace_back(word, grey_to_map(read_grey_image(f.path().string()), map_size));
      } catch (const Error& e) {
        report.problems.push_back(e.what());
      }
    }
    if (words.empty()) {
      report.problems.push_back(maps_dir.string() + ": no readable attention_<word>.jpg");
      continue;
    }
    std::sort(words.begin(), words.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    MapEntry entry;
    entry.key = key;
    entry.image = key;
    std::vector<at::Tensor> maps;
    for (auto& [word, map] : words) {
      entry.words.push_back(word);
      maps.push_back(map);
    }
    entry.extra = {{"source", "authors-layout"}};
    store.add(std::move(entry), torch::stack(maps));
    ++report.images;
  }
  return report;
}

size_t export_authors_layout(const MapStoreReader& store, const std::string& root,
                             std::vector<std::string>* skipped_words) {
  size_t written = 0;
  for (const auto& entry : store.entries()) {
    if (!safe_file_word(entry.key)) {
      if (skipped_words) skipped_words->push_back(entry.key);
      continue;
    }
    fs::path dir = fs::path(root) / entry.key / "lpm_attention" / fs::path(entry.key).stem();
    fs::create_directories(dir);
    at::Tensor maps = store.maps(entry.key);
    for (size_t w = 0; w < entry.words.size(); ++w) {
      if (!safe_file_word(entry.words[w])) {
        if (skipped_words) skipped_words->push_back(entry.words[w]);
        continue;
      }
      write_jpeg((dir / (kPrefix + entry.words[w] + ".jpg")).string(),
                 map_to_grey(maps[static_cast<int64_t>(w)]), 95);
      ++written;
    }
  }
  return written;
}

}  // namespace lavender::io
