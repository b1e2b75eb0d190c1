// Scoring attention maps against references, by record id and word:
//   - store vs store (`lavender eval --maps STORE --truth STORE2`): e.g. the diffusion model's
//     maps against the shapes world's ground-truth masks;
//   - the VLM's own maps (`lavender eval --model M --data B --maps T --truth G`): for each record,
//     the question and reference answer teacher-forced through the model, each word's attention
//     rows averaged over its tokens and pooled over heads and layers, then scored against the
//     teacher's map (MSE, IoU, entropy of VLM vs teacher: the paper's Figure 7 comparison) and
//     against the ground-truth mask.
// Words are matched as training matches them (align/word_match.h: lower-cased spelling, every
// occurrence averaged); a reference of another size is resized bilinearly to the scored size.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lavender/eval/benchmark.h"
#include "lavender/eval/map_scores.h"
#include "lavender/io/image.h"

namespace lavender::io {
class MapStoreReader;
class MapStoreWriter;
}  // namespace lavender::io
namespace lavender::vlm {
class ChatModel;
}

namespace lavender::eval {

using WordClasses = std::map<std::string, std::string>;

struct StoreComparison {
  MapScoreSummary summary;
  size_t keys = 0;           // keys scored
  size_t missing_keys = 0;   // keys of `maps` the truth store lacks
  size_t missing_words = 0;  // words of `maps` the truth entry lacks
  nlohmann::json to_json() const;
};

// Every key of `maps` against `truth` at the truth store's map size.
StoreComparison compare_stores(const io::MapStoreReader& maps, const io::MapStoreReader& truth,
                               const WordClasses& classes, const MapScoreOptions& options);

struct VlmMapOptions {
  // align/head_layer_pooling.h names; the trainer's default ("heads-mean") keeps heads as the
  // Aligner's channels — without an Aligner the channels are averaged, i.e. mean-mean.
  std::string aggregation = "heads-mean";
  std::vector<int64_t>
      layers;  // empty: the model's default (LLaVA its middle half, mllama cross-attention)
  int64_t map_size = 32;
  MapScoreOptions scores;  // against truth; against the teacher both sides use map_threshold
};

class VlmMapScorer {
 public:
  // Either store may be null (then that comparison is left out).
  VlmMapScorer(vlm::ChatModel& model, const io::MapStoreReader* teacher,
               const io::MapStoreReader* truth, WordClasses classes, VlmMapOptions options);
  // Scores the item's words; an item neither store holds counts as missing. Throws
  // lavender::Error for what the model cannot do with it.
  void add(const BenchmarkItem& item, const io::Image& image);
  // Also writes the pooled maps of the first `limit` scored records into `sink` (a map store in
  // the teacher's format, words as matched against the truth store, else the teacher's), for
  // figures that set the VLM's maps beside the references. The sink must outlive the scorer.
  void keep_maps(io::MapStoreWriter* sink, size_t limit) {
    sink_ = sink;
    sink_limit_ = limit;
  }

  const MapScoreSummary& vs_teacher() const { return vs_teacher_; }
  const MapScoreSummary& vs_truth() const { return vs_truth_; }
  size_t records() const { return records_; }
  size_t missing() const { return missing_; }
  // {"aggregation", "records", "missing", "vs_teacher": {...}, "vs_truth": {...}}
  nlohmann::json to_json() const;

 private:
  vlm::ChatModel& model_;
  const io::MapStoreReader* teacher_;
  const io::MapStoreReader* truth_;
  VlmMapOptions options_;
  MapScoreSummary vs_teacher_, vs_truth_;
  size_t records_ = 0, missing_ = 0;
  io::MapStoreWriter* sink_ = nullptr;
  size_t sink_limit_ = 0;
};

}  // namespace lavender::eval
