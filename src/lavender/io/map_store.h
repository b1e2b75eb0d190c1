// The attention-map store: the teacher writes it once, the trainer reads it for every epoch.
//
//   <store>/store.json            map size, dtype, recipe (written when the store is created)
//   <store>/maps-00000.safetensors  one fp16 tensor [n_words, S, S] per image key
//   <store>/index.jsonl           one line per stored key: key, image, text, words, token spans,
//                                 shard, truncation and crop facts
//
// Writes are crash-safe: a shard is written atomically before the index lines naming it are
// appended (and synced), so a killed run loses at most the shard in progress, never leaves a
// corrupt one, and a re-run skips every key already in the index. A torn last index line (the
// process died mid-append) is ignored and cut off when the store is reopened for writing.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lavender/io/safetensors.h"

namespace lavender::io {

struct MapEntry {
  std::string key;
  std::string image;
  std::string text;
  std::vector<std::string> words;
  std::vector<std::pair<int, int>> token_spans;     // per word: [first, last + 1) token positions
  std::string shard;                                // file name inside the store
  nlohmann::json extra = nlohmann::json::object();  // truncated, crop, ... (free-form facts)
};

class MapStoreReader {
 public:
  // `dir` is one store, or the folder of a sharded run holding part-<i>-of-<n> stores, which
  // are then read as one (the parts must share map size and recipe). Throws lavender::Error
  // naming the file for a missing store or a malformed index line.
  static MapStoreReader open(const std::string& dir);

  const nlohmann::json& info() const { return info_; }  // store.json
  const std::vector<MapEntry>& entries() const { return entries_; }
  bool contains(const std::string& key) const { return by_key_.count(key) > 0; }
  const MapEntry& entry(const std::string& key) const;
  // Keys found in more than one part (the first part's maps are used).
  size_t duplicates() const { return duplicates_; }
  // [n_words, S, S] in the stored dtype (fp16); zero-copy from the shard.
  at::Tensor maps(const std::string& key) const;

 private:
  void open_parts();

  std::string dir_;
  nlohmann::json info_;
  size_t duplicates_ = 0;
  std::vector<MapEntry> entries_;
  std::map<std::string, size_t> by_key_;
  mutable std::map<std::string, std::shared_ptr<SafetensorsFile>> shards_;
};

class MapStoreWriter {
 public:
  // Creates the store (with `info` as store.json) or reopens it to resume. Reopening with an
  // `info` whose "map_size" or "recipe" differs from the stored one is an error: maps made by
  // different recipes must not mix in one store.
  MapStoreWriter(const std::string& dir, const nlohmann::json& info, size_t shard_entries = 256);
  ~MapStoreWriter();  // flushes what is pending (errors are logged, not thrown)

  bool contains(const std::string& key) const { return done_.count(key) > 0; }
  size_t size() const { return done_.size(); }
  // Queues one image's maps; a full shard is written. Adding a key twice is an error.
  void add(MapEntry entry, const at::Tensor& maps);
  void flush();  // writes the pending shard, if any

 private:
  std::string dir_;
  size_t shard_entries_;
  int next_shard_ = 0;
  std::map<std::string, bool> done_;
  std::vector<std::pair<MapEntry, at::Tensor>> pending_;
};

}  // namespace lavender::io
