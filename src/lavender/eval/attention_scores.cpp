#include "lavender/eval/attention_scores.h"

#include <torch/torch.h>

#include <algorithm>

#include "lavender/align/attention_maps.h"
#include "lavender/align/head_layer_pooling.h"
#include "lavender/align/map_ops.h"
#include "lavender/align/word_match.h"
#include "lavender/io/map_store.h"
#include "lavender/util/error.h"
#include "lavender/vlm/chat_model.h"

namespace lavender::eval {
namespace {

// Scores one word's map against its reference (both [S, S] fp32).
MapScores score(const at::Tensor& map, const at::Tensor& reference, const MapScoreOptions& o) {
  const at::Tensor m = map.to(torch::kFloat).contiguous();
  const at::Tensor r = reference.to(torch::kFloat).contiguous();
  return score_map(m.data_ptr<float>(), r.data_ptr<float>(), static_cast<size_t>(m.numel()), o);
}

}  // namespace

nlohmann::json StoreComparison::to_json() const {
  nlohmann::json j = summary.to_json();
  j["keys"] = keys;
  j["missing_keys"] = missing_keys;
  j["missing_words"] = missing_words;
  return j;
}

StoreComparison compare_stores(const io::MapStoreReader& maps, const io::MapStoreReader& truth,
                               const WordClasses& classes, const MapScoreOptions& options) {
  StoreComparison out{MapScoreSummary(classes)};
  torch::NoGradGuard no_grad;
  for (const auto& entry : maps.entries()) {
    if (!truth.contains(entry.key)) {
      ++out.missing_keys;
      continue;
    }
    const io::MapEntry& reference = truth.entry(entry.key);
    at::Tensor truth_maps = truth.maps(entry.key).to(torch::kFloat);
    const int64_t size = truth_maps.size(-1);
    // Each distinct word once, its occurrences averaged on both sides.
    std::vector<align::WordMatch> mine, theirs;
    for (size_t i = 0; i < entry.words.size(); ++i) {
      const std::string w = align::match_spelling(entry.words[i]);
      auto seen =
          std::find_if(mine.begin(), mine.end(), [&](const auto& m) { return m.word == w; });
      if (seen != mine.end()) {
        seen->teacher_words.push_back(static_cast<int>(i));
        continue;
      }
      align::WordMatch t{w, {}, {}};
      for (size_t j = 0; j < reference.words.size(); ++j)
        if (align::match_spelling(reference.words[j]) == w)
          t.teacher_words.push_back(static_cast<int>(j));
      if (t.teacher_words.empty()) {
        ++out.missing_words;
        continue;
      }
      mine.push_back({w, {}, {static_cast<int>(i)}});
      theirs.push_back(t);
    }
    if (mine.empty()) continue;
    const at::Tensor a = align::matched_teacher_maps(maps.maps(entry.key), mine, size);
    const at::Tensor b = align::matched_teacher_maps(truth_maps, theirs, size);
    for (size_t k = 0; k < mine.size(); ++k)
      out.summary.add(mine[k].word,
                      score(a[static_cast<int64_t>(k)], b[static_cast<int64_t>(k)], options));
    ++out.keys;
  }
  return out;
}

VlmMapScorer::VlmMapScorer(vlm::ChatModel& model, const io::MapStoreReader* teacher,
                           const io::MapStoreReader* truth, WordClasses classes,
                           VlmMapOptions options)
    : model_(model),
      teacher_(teacher),
      truth_(truth),
      options_(std::move(options)),
      vs_teacher_(classes),
      vs_truth_(classes) {
  align::parse_head_layer_pooling(options_.aggregation);  // a bad name fails before any work
}

void VlmMapScorer::add(const BenchmarkItem& item, const io::Image& image) {
  const bool in_teacher = teacher_ && teacher_->contains(item.id);
  const bool in_truth = truth_ && truth_->contains(item.id);
  if (!in_teacher && !in_truth) {
    ++missing_;
    return;
  }
  torch::NoGradGuard no_grad;
  const auto chat = model_.conversation_ids(item.question, item.answer);
  const vlm::TokenAttention att =
      model_.attention(image, chat.ids, options_.layers, options_.map_size);
  const align::HeadLayerPooling pooling = align::parse_head_layer_pooling(options_.aggregation);

  const bool keep = sink_ && sink_->size() < sink_limit_ && !sink_->contains(item.id);
  auto run = [&](const io::MapStoreReader& store, MapScoreSummary& summary, MapScoreOptions o,
                 bool kept_here) {
    const io::MapEntry& entry = store.entry(item.id);
    std::vector<align::WordMatch> matches = align::match_words(att.words, {}, entry.words);
    // A word said only before the image (a chat header) sees none of it: nothing to score.
    std::vector<at::Tensor> rows;
    std::vector<align::WordMatch> kept;
    for (const auto& m : matches) {
      std::vector<int64_t> idx(m.student_tokens.begin(), m.student_tokens.end());
      at::Tensor word = att.maps.index_select(2, torch::tensor(idx, torch::kLong)).mean(2);
      if (word.abs().sum().item<double>() == 0) continue;
      rows.push_back(word);  // [L, H, S, S]
      kept.push_back(m);
    }
    if (kept.empty()) return;
    at::Tensor pooled = align::pool_heads_layers(torch::stack(rows, 2).unsqueeze(0), pooling);
    pooled = pooled[0].mean(1);  // [W, S, S]: channels (heads, for heads-*) averaged
    const at::Tensor reference =
        align::matched_teacher_maps(store.maps(item.id), kept, options_.map_size);
    for (size_t k = 0; k < kept.size(); ++k)
      summary.add(kept[k].word,
                  score(pooled[static_cast<int64_t>(k)], reference[static_cast<int64_t>(k)], o));
    if (kept_here) {
      io::MapEntry e;
      e.key = item.id;
      e.image = item.image;
      e.text = item.question + " " + item.answer;
      for (const auto& m : kept) e.words.push_back(m.word);
      // Min-max normalised per word, as teacher stores are: fp16 would blur the narrow range of
      // raw attention probabilities.
      sink_->add(std::move(e), align::minmax_normalise(pooled).to(torch::kHalf));
    }
  };
  if (in_teacher) {
    MapScoreOptions o = options_.scores;
    o.reference_threshold = o.map_threshold;  // the teacher's map is thresholded like the VLM's
    run(*teacher_, vs_teacher_, o, keep && !in_truth);
  }
  if (in_truth) run(*truth_, vs_truth_, options_.scores, keep);
  ++records_;
}

nlohmann::json VlmMapScorer::to_json() const {
  nlohmann::json j = {
      {"aggregation", options_.aggregation}, {"records", records_}, {"missing", missing_}};
  if (teacher_) j["vs_teacher"] = vs_teacher_.to_json();
  if (truth_) j["vs_truth"] = vs_truth_.to_json();
  return j;
}

}  // namespace lavender::eval
