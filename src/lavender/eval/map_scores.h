// How well one word's attention map [S, S] agrees with a reference [S, S] of the same size (a
// ground-truth mask with values in [0, 1], or another model's map), and how spread out it is.
//
// Every score reads both maps min-max normalised to [0, 1] (the teacher's stored maps already
// are; a ground-truth mask with a zero background stays as it is; a constant positive map, an
// object filling the picture, becomes all ones):
//   mse          mean squared difference
//   iou          intersection over union of the thresholded maps: the map is on where >=
//                map_threshold (0.4 by default: DAAM's τ, applied to the normalised map; for a
//                map whose minimum is 0 that is the max-normalised map DAAM thresholds), the
//                reference where >= reference_threshold (0.5 by default: "at least half
//                covered" for an area-downsampled truth mask; pass map_threshold when the
//                reference is another attention map). An empty union scores 0.
//   mass_inside  share of the map's mass inside the thresholded reference
//   soft_iou     Σ min(m, r) / Σ max(m, r) (no threshold)
//   entropy      of the map as a distribution over the S² positions, divided by log(S²):
//                1 for a flat map, 0 for a single peak
//   peak_on_object  1 when the map's maximum (first, in row-major order) lies inside the
//                   thresholded reference, else 0
// Torch-free (part of lavender_core): maps are row-major float arrays.
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lavender::eval {

struct MapScoreOptions {
  double map_threshold = 0.4;
  double reference_threshold = 0.5;
};

struct MapScores {
  double mse = 0, iou = 0, mass_inside = 0, soft_iou = 0, entropy = 0, peak_on_object = 0;
  double reference_entropy = 0;  // entropy of the reference, the same way (Figure 7's other side)
};

// `map` and `reference` hold `n` = S² values each. Throws lavender::Error when n is 0.
MapScores score_map(const float* map, const float* reference, size_t n,
                    const MapScoreOptions& options = {});
// Entropy alone (see above).
double map_entropy(const float* map, size_t n);

// Means of MapScores over the words scored, overall, per word class and per word.
class MapScoreSummary {
 public:
  // `classes`: word → class name (words absent count as "other").
  explicit MapScoreSummary(std::map<std::string, std::string> classes = {})
      : classes_(std::move(classes)) {}
  void add(const std::string& word, const MapScores& s);
  size_t count() const { return overall_.n; }
  // {"overall": {n, mse, iou, ...}, "classes": {class: {...}}, "words": {word: {...}}}
  nlohmann::json to_json() const;
  // Plain-text table: group, n, mse, iou, mass, soft_iou, entropy, ref_entropy, peak.
  std::string table() const;

 private:
  struct Sum {
    size_t n = 0;
    MapScores total;
  };
  static void accumulate(Sum& sum, const MapScores& s);
  static nlohmann::json mean(const Sum& sum);

  std::map<std::string, std::string> classes_;
  Sum overall_;
  std::map<std::string, Sum> by_class_, by_word_;
};

// Word classes from JSON: {"colour": ["red", ...], "shape": [...]} (any class names); or the
// shapes world's world.json, whose "vocabulary" gives "colours" ([{"name": ...}] or names),
// "shapes" and "sizes" (names, or an object keyed by name) → classes colour, shape, size.
// Words are lower-cased. Throws lavender::Error naming `source` when nothing usable is found.
std::map<std::string, std::string> word_classes(const nlohmann::json& j, const std::string& source);

}  // namespace lavender::eval
