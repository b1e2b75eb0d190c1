#include "lavender/eval/map_scores.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "lavender/util/error.h"

namespace lavender::eval {
namespace {

// Min-max normalised copy. A constant map has no range: a positive one becomes all ones (an
// object filling the picture), a zero one all zeros.
std::vector<double> minmax(const float* x, size_t n) {
  const auto [lo, hi] = std::minmax_element(x, x + n);
  const double range = static_cast<double>(*hi) - static_cast<double>(*lo);
  std::vector<double> out(n, range > 0 || *hi <= 0 ? 0.0 : 1.0);
  if (range > 0)
    for (size_t i = 0; i < n; ++i) out[i] = (static_cast<double>(x[i]) - *lo) / range;
  return out;
}

std::vector<bool> at_least(const std::vector<double>& x, double threshold) {
  std::vector<bool> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = x[i] >= threshold;
  return out;
}

double entropy_of(const std::vector<double>& m) {
  const size_t n = m.size();
  if (n <= 1) return 0.0;
  double total = 0;
  for (double v : m) total += v;
  if (total <= 0) return 1.0;  // nothing anywhere: as flat as it gets
  double h = 0;
  for (double v : m)
    if (v > 0) h -= (v / total) * std::log(v / total);
  return h / std::log(static_cast<double>(n));
}

}  // namespace

double map_entropy(const float* map, size_t n) {
  if (n == 0) throw Error("map_entropy: empty map");
  return entropy_of(minmax(map, n));
}

MapScores score_map(const float* map, const float* reference, size_t n,
                    const MapScoreOptions& options) {
  if (n == 0) throw Error("score_map: empty map");
  const std::vector<double> m = minmax(map, n), r = minmax(reference, n);
  const std::vector<bool> mb = at_least(m, options.map_threshold);
  const std::vector<bool> rb = at_least(r, options.reference_threshold);
  MapScores s;
  double sq = 0, inter = 0, uni = 0, mass = 0, mass_in = 0, soft_min = 0, soft_max = 0;
  size_t peak = 0;
  for (size_t i = 0; i < n; ++i) {
    sq += (m[i] - r[i]) * (m[i] - r[i]);
    inter += mb[i] && rb[i];
    uni += mb[i] || rb[i];
    mass += m[i];
    if (rb[i]) mass_in += m[i];
    soft_min += std::min(m[i], r[i]);
    soft_max += std::max(m[i], r[i]);
    if (map[i] > map[peak]) peak = i;
  }
  s.mse = sq / static_cast<double>(n);
  s.iou = uni > 0 ? inter / uni : 0.0;
  s.mass_inside = mass > 0 ? mass_in / mass : 0.0;
  s.soft_iou = soft_max > 0 ? soft_min / soft_max : 0.0;
  s.entropy = entropy_of(m);
  s.reference_entropy = entropy_of(r);
  s.peak_on_object = rb[peak] ? 1.0 : 0.0;
  return s;
}

void MapScoreSummary::accumulate(Sum& sum, const MapScores& s) {
  ++sum.n;
  sum.total.mse += s.mse;
  sum.total.iou += s.iou;
  sum.total.mass_inside += s.mass_inside;
  sum.total.soft_iou += s.soft_iou;
  sum.total.entropy += s.entropy;
  sum.total.reference_entropy += s.reference_entropy;
  sum.total.peak_on_object += s.peak_on_object;
}

nlohmann::json MapScoreSummary::mean(const Sum& sum) {
  const double n = sum.n ? static_cast<double>(sum.n) : 1.0;
  return {{"n", sum.n},
          {"mse", sum.total.mse / n},
          {"iou", sum.total.iou / n},
          {"mass_inside", sum.total.mass_inside / n},
          {"soft_iou", sum.total.soft_iou / n},
          {"entropy", sum.total.entropy / n},
          {"reference_entropy", sum.total.reference_entropy / n},
          {"peak_on_object", sum.total.peak_on_object / n}};
}

void MapScoreSummary::add(const std::string& word, const MapScores& s) {
  accumulate(overall_, s);
  auto it = classes_.find(word);
  accumulate(by_class_[it == classes_.end() ? "other" : it->second], s);
  accumulate(by_word_[word], s);
}

nlohmann::json MapScoreSummary::to_json() const {
  nlohmann::json classes = nlohmann::json::object(), words = nlohmann::json::object();
  for (const auto& [name, sum] : by_class_) classes[name] = mean(sum);
  for (const auto& [name, sum] : by_word_) words[name] = mean(sum);
  return {{"overall", mean(overall_)}, {"classes", classes}, {"words", words}};
}

std::string MapScoreSummary::table() const {
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-10s %6s %7s %7s %7s %8s %7s %7s %7s\n", "group", "n", "mse",
                "iou", "mass", "soft_iou", "entropy", "ref_ent", "peak");
  out += line;
  auto row = [&](const std::string& name, const Sum& sum) {
    const nlohmann::json m = mean(sum);
    std::snprintf(line, sizeof line, "%-10s %6zu %7.4f %7.4f %7.4f %8.4f %7.4f %7.4f %7.4f\n",
                  name.c_str(), sum.n, m["mse"].get<double>(), m["iou"].get<double>(),
                  m["mass_inside"].get<double>(), m["soft_iou"].get<double>(),
                  m["entropy"].get<double>(), m["reference_entropy"].get<double>(),
                  m["peak_on_object"].get<double>());
    out += line;
  };
  for (const auto& [name, sum] : by_class_) row(name, sum);
  row("overall", overall_);
  return out;
}

std::map<std::string, std::string> word_classes(const nlohmann::json& j,
                                                const std::string& source) {
  const nlohmann::json* lists = &j;
  if (j.is_object() && j.contains("vocabulary") && j["vocabulary"].is_object())
    lists = &j["vocabulary"];
  std::map<std::string, std::string> out;
  if (!lists->is_object()) throw Error(source + ": word classes must be a JSON object of lists");
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  const bool world = lists != &j;
  for (const auto& [name, words] : lists->items()) {
    // A world's vocabulary also lists question types and split facts: only the word lists count.
    if (world && name != "colours" && name != "shapes" && name != "sizes") continue;
    std::string cls = name;
    if (world) cls.pop_back();  // "colours" → "colour"
    if (world && words.is_object()) {  // sizes: {"small": 0.2, ...}
      for (const auto& [word, value] : words.items()) out[lower(word)] = cls;
      continue;
    }
    if (!words.is_array()) continue;
    for (const auto& w : words) {
      if (w.is_string())
        out[lower(w.get<std::string>())] = cls;
      else if (w.is_object() && w.contains("name") && w["name"].is_string())
        out[lower(w["name"].get<std::string>())] = cls;
    }
  }
  if (out.empty()) throw Error(source + ": no word lists found (expected {\"colour\": [...], ...})");
  return out;
}

}  // namespace lavender::eval
