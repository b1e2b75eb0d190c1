// The `lavender sd-attn` batch job: read an image–text dataset, draw the teacher's per-word maps
// for every (image, text) pair of this shard and append them to a map store. Resumable (keys
// already in the store are skipped); bad samples are reported with their origin, counted and
// skipped, never fatal.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lavender/data/dataset.h"
#include "lavender/dm/recipe.h"

namespace lavender::dm {

struct ExtractJobOptions {
  std::string model;      // diffusers SD folder
  std::string data;       // dataset file (any layout read_dataset knows)
  std::string images;     // root for relative image paths
  std::string out;        // map store folder
  std::string tokenizer;  // "" → <model>/tokenizer
  Recipe recipe;          // seed is taken from `seed` below
  data::TextChoice text = data::TextChoice::assistant;  // caption data always uses captions
  int64_t batch = 4;
  std::string device = "cpu";
  std::string dtype = "fp32";  // compute precision (maps are stored as fp16 either way)
  int64_t shard_index = 0, shard_count = 1;
  int64_t limit = 0;  // 0: no limit (counted over this shard's pairs)
  uint64_t seed = 0;
  bool show_progress = true;
};

struct ExtractJobResult {
  int64_t pairs = 0;             // pairs in this shard (after --limit)
  int64_t processed = 0;         // newly written
  int64_t already_done = 0;      // found in the store
  int64_t truncated = 0;         // written, text cut to the encoder's length
  std::vector<std::string> bad;  // "origin: reason" per skipped sample (dataset problems too)
  std::string store;             // where the maps went
};

// The store a shard writes: `out` itself for one shard, else `out/part-<i>-of-<n>` (one writer
// per store folder; the parts are separate stores).
std::string shard_store_path(const std::string& out, int64_t index, int64_t count);

// Throws lavender::Error for problems that concern the whole job (model, dataset file, store,
// recipe); per-sample problems go to `bad`.
ExtractJobResult run_extract_job(const ExtractJobOptions& options);

// "i/n" → {i, n}, with 0 ≤ i < n; throws lavender::Error otherwise.
std::pair<int64_t, int64_t> parse_shard(const std::string& text);

}  // namespace lavender::dm
