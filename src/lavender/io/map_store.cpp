#include "lavender/io/map_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <ATen/ATen.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <regex>
#include <sstream>

#include "lavender/io/json_file.h"
#include "lavender/util/atomic_file.h"
#include "lavender/util/error.h"
#include "lavender/util/log.h"

namespace fs = std::filesystem;

namespace lavender::io {
namespace {

constexpr const char* kIndex = "index.jsonl";
constexpr const char* kInfo = "store.json";

nlohmann::json entry_to_json(const MapEntry& e) {
  nlohmann::json spans = nlohmann::json::array();
  for (const auto& [b, end] : e.token_spans) spans.push_back({b, end});
  return {{"key", e.key},         {"image", e.image}, {"text", e.text},  {"words", e.words},
          {"token_spans", spans}, {"shard", e.shard}, {"extra", e.extra}};
}

MapEntry entry_from_json(const nlohmann::json& j, const std::string& where) {
  try {
    MapEntry e;
    e.key = j.at("key").get<std::string>();
    e.image = j.value("image", "");
    e.text = j.value("text", "");
    e.words = j.at("words").get<std::vector<std::string>>();
    for (const auto& s : j.value("token_spans", nlohmann::json::array()))
      e.token_spans.emplace_back(s.at(0).get<int>(), s.at(1).get<int>());
    e.shard = j.at("shard").get<std::string>();
    if (j.contains("extra")) e.extra = j["extra"];
    if (e.shard.find('/') != std::string::npos || e.shard.find("..") != std::string::npos)
      throw Error("shard name leaves the store");
    return e;
  } catch (const nlohmann::json::exception& ex) {
    throw Error(where + ": malformed index entry: " + ex.what());
  } catch (const Error& ex) {
    throw Error(where + ": " + ex.what());
  }
}

// Reads index.jsonl; a last line without its newline is a torn write and is ignored. Returns the
// byte length of the intact part.
size_t read_index(const std::string& path, std::vector<MapEntry>& out) {
  if (!fs::exists(path)) return 0;
  std::string text = read_text_file(path);
  size_t intact = text.rfind('\n');
  intact = intact == std::string::npos ? 0 : intact + 1;
  std::istringstream in(text.substr(0, intact));
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    std::string where = path + ":" + std::to_string(n);
    out.push_back(entry_from_json(parse_json(line, where), where));
  }
  return intact;
}

std::string shard_name(int index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "maps-%05d.safetensors", index);
  return buf;
}

// Appends `text` to the index and syncs it, so the lines survive a crash once this returns.
void append_synced(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(path + ": cannot open for appending");
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      ::close(fd);
      throw Error(path + ": write failed");
    }
    done += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

namespace {

// The per-rank stores a sharded sd-attn run leaves under one folder (part-<i>-of-<n>), in order.
std::vector<std::string> part_dirs(const std::string& dir) {
  static const std::regex part_name(R"(part-(\d+)-of-(\d+))");
  std::vector<std::pair<std::pair<long, long>, std::string>> found;
  if (fs::is_directory(dir))
    for (const auto& item : fs::directory_iterator(dir)) {
      std::smatch m;
      const std::string name = item.path().filename().string();
      if (item.is_directory() && std::regex_match(name, m, part_name) &&
          fs::is_regular_file(item.path() / kInfo))
        found.push_back({{std::stol(m[2]), std::stol(m[1])}, name});
    }
  std::sort(found.begin(), found.end());
  std::vector<std::string> names;
  for (auto& f : found) names.push_back(std::move(f.second));
  return names;
}

}  // namespace

MapStoreReader MapStoreReader::open(const std::string& dir) {
  MapStoreReader r;
  r.dir_ = dir;
  if (fs::is_regular_file(fs::path(dir) / kInfo)) {
    r.info_ = read_json_file((fs::path(dir) / kInfo).string());
    read_index((fs::path(dir) / kIndex).string(), r.entries_);
  } else {
    r.open_parts();
  }
  for (size_t i = 0; i < r.entries_.size(); ++i) r.by_key_[r.entries_[i].key] = i;
  return r;
}

// Reads every part as one store. The parts must agree on the map size and recipe; a key that
// two parts hold (a re-run with another world size) is taken from the first part and counted.
void MapStoreReader::open_parts() {
  const auto parts = part_dirs(dir_);
  if (parts.empty())
    throw Error(dir_ + ": not a map store (no " + kInfo + ", no part-<i>-of-<n> stores)");
  std::map<std::string, bool> seen;
  for (const auto& part : parts) {
    const std::string info_path = (fs::path(dir_) / part / kInfo).string();
    nlohmann::json info = read_json_file(info_path);
    if (info_.is_null()) info_ = info;
    for (const char* field : {"map_size", "recipe"})
      if (info.value(field, nlohmann::json()) != info_.value(field, nlohmann::json()))
        throw Error(info_path + ": \"" + field + "\" differs from " + parts.front() +
                    "'s: the parts were made by different recipes");
    std::vector<MapEntry> entries;
    read_index((fs::path(dir_) / part / kIndex).string(), entries);
    for (auto& e : entries) {
      if (!seen.emplace(e.key, true).second) {
        ++duplicates_;
        continue;
      }
      e.shard = part + "/" + e.shard;
      entries_.push_back(std::move(e));
    }
  }
  if (duplicates_ > 0)
    log::warn(dir_, ": ", duplicates_,
              " keys are in more than one part; the first part's maps are used");
}

const MapEntry& MapStoreReader::entry(const std::string& key) const {
  auto it = by_key_.find(key);
  if (it == by_key_.end()) throw Error(dir_ + ": no maps for \"" + key + "\"");
  return entries_[it->second];
}

at::Tensor MapStoreReader::maps(const std::string& key) const {
  const MapEntry& e = entry(key);
  auto& shard = shards_[e.shard];
  if (!shard) shard = SafetensorsFile::open((fs::path(dir_) / e.shard).string());
  at::Tensor t = shard->tensor(key);
  if (t.dim() != 3 || t.size(0) != static_cast<int64_t>(e.words.size()))
    throw Error(shard->path() + ": maps of \"" + key + "\" do not match its " +
                std::to_string(e.words.size()) + " words");
  return t;
}

MapStoreWriter::MapStoreWriter(const std::string& dir, const nlohmann::json& info,
                               size_t shard_entries)
    : dir_(dir), shard_entries_(shard_entries == 0 ? 1 : shard_entries) {
  fs::create_directories(dir);
  std::string info_path = (fs::path(dir) / kInfo).string();
  if (fs::exists(info_path)) {
    nlohmann::json stored = read_json_file(info_path);
    for (const char* field : {"map_size", "recipe"})
      if (stored.value(field, nlohmann::json()) != info.value(field, nlohmann::json()))
        throw Error(dir + ": existing store has a different \"" + field +
                    "\"; use a new --out folder");
  } else {
    write_file_atomically(info_path, info.dump(2) + "\n");
  }
  // Resume: keys already indexed are done; cut a torn last line; never reuse a shard number
  // (an orphan shard from a crash before its index lines is simply left unreferenced).
  std::string index_path = (fs::path(dir) / kIndex).string();
  std::vector<MapEntry> existing;
  size_t intact = read_index(index_path, existing);
  if (fs::exists(index_path) && fs::file_size(index_path) != intact) {
    log::warn(index_path, ": dropping a torn last line from an interrupted run");
    fs::resize_file(index_path, intact);
  }
  for (const auto& e : existing) done_[e.key] = true;
  static const std::regex shard_re(R"(maps-(\d{5})\.safetensors)");
  for (const auto& f : fs::directory_iterator(dir)) {
    std::smatch m;
    std::string name = f.path().filename().string();
    if (std::regex_match(name, m, shard_re))
      next_shard_ = std::max(next_shard_, std::stoi(m[1]) + 1);
  }
}

MapStoreWriter::~MapStoreWriter() {
  try {
    flush();
  } catch (const std::exception& e) {
    log::error(dir_, ": could not write the last shard: ", e.what());
  }
}

void MapStoreWriter::add(MapEntry entry, const at::Tensor& maps) {
  if (done_.count(entry.key)) throw Error(dir_ + ": maps for \"" + entry.key + "\" already stored");
  if (maps.dim() != 3 || maps.size(0) != static_cast<int64_t>(entry.words.size()))
    throw Error(dir_ + ": maps for \"" + entry.key + "\" must be [n_words, S, S]");
  done_[entry.key] = true;
  pending_.emplace_back(std::move(entry), maps.detach().to(at::kCPU, at::kHalf).contiguous());
  if (pending_.size() >= shard_entries_) flush();
}

void MapStoreWriter::flush() {
  if (pending_.empty()) return;
  std::string name = shard_name(next_shard_++);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  std::string lines;
  for (auto& [entry, maps] : pending_) {
    entry.shard = name;
    tensors.emplace_back(entry.key, maps);
    lines += entry_to_json(entry).dump() + "\n";
  }
  save_safetensors((fs::path(dir_) / name).string(), tensors, {{"format", "lavender-maps"}});
  append_synced((fs::path(dir_) / kIndex).string(), lines);
  pending_.clear();
}

}  // namespace lavender::io
