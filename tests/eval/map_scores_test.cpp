#include "lavender/eval/map_scores.h"

#include <gtest/gtest.h>

#include <cmath>

#include "lavender/util/error.h"

namespace lavender::eval {
namespace {

// 2×2 maps, row-major, worked by hand.
TEST(MapScores, MatchHandComputedValues) {
  const float map[4] = {0.0f, 1.0f, 0.5f, 0.25f};
  const float truth[4] = {0.0f, 1.0f, 1.0f, 0.0f};
  const MapScores s = score_map(map, truth, 4);
  // min-max: map stays {0, 1, .5, .25}; diffs {0, 0, -.5, .25} → (0.25 + 0.0625) / 4
  EXPECT_NEAR(s.mse, 0.078125, 1e-12);
  // map / max >= 0.4 → {0, 1, 1, 0}; truth >= 0.5 → {0, 1, 1, 0}: IoU 1
  EXPECT_NEAR(s.iou, 1.0, 1e-12);
  // mass 1.75, inside 1.5
  EXPECT_NEAR(s.mass_inside, 1.5 / 1.75, 1e-12);
  // Σmin = 0 + 1 + .5 + 0 = 1.5; Σmax = 0 + 1 + 1 + .25 = 2.25
  EXPECT_NEAR(s.soft_iou, 1.5 / 2.25, 1e-12);
  // p = {0, 4/7, 2/7, 1/7}
  const double h = -(4.0 / 7 * std::log(4.0 / 7) + 2.0 / 7 * std::log(2.0 / 7) +
                     1.0 / 7 * std::log(1.0 / 7)) /
                   std::log(4.0);
  EXPECT_NEAR(s.entropy, h, 1e-12);
  EXPECT_NEAR(s.reference_entropy, 0.5, 1e-12);  // two equal cells out of four: log 2 / log 4
  EXPECT_EQ(s.peak_on_object, 1.0);
}

TEST(MapScores, ThresholdsAndEdgeCases) {
  const float map[4] = {0.3f, 1.0f, 0.0f, 0.0f};
  const float truth[4] = {1.0f, 0.0f, 0.0f, 0.0f};
  MapScores s = score_map(map, truth, 4);
  EXPECT_EQ(s.peak_on_object, 0.0);
  EXPECT_NEAR(s.iou, 0.0, 1e-12);  // 0.3 < 0.4: only cell 1 is on; truth is cell 0
  MapScoreOptions loose;
  loose.map_threshold = 0.25;
  s = score_map(map, truth, 4, loose);
  EXPECT_NEAR(s.iou, 0.5, 1e-12);  // {0, 1} vs {0}
  // A constant map is flat: entropy 1, its mass spread evenly (inside share = truth area).
  const float flat[4] = {0.2f, 0.2f, 0.2f, 0.2f};
  s = score_map(flat, truth, 4);
  EXPECT_NEAR(s.entropy, 1.0, 1e-12);
  EXPECT_NEAR(s.mass_inside, 0.25, 1e-12);
  EXPECT_NEAR(map_entropy(truth, 4), 0.0, 1e-12);
  // Nothing on either side: an empty union scores 0.
  const float zero[4] = {0, 0, 0, 0};
  EXPECT_EQ(score_map(zero, zero, 4).iou, 0.0);
  EXPECT_THROW(score_map(map, truth, 0), Error);
}

TEST(MapScoreSummary, AveragesPerClassAndWord) {
  MapScoreSummary summary({{"red", "colour"}, {"star", "shape"}});
  MapScores a, b, c;
  a.iou = 1.0, b.iou = 0.5, c.iou = 0.0;
  a.entropy = 0.2, b.entropy = 0.4, c.entropy = 0.9;
  summary.add("red", a);
  summary.add("red", b);
  summary.add("star", c);
  summary.add("left", c);
  const auto j = summary.to_json();
  EXPECT_EQ(j["overall"]["n"], 4);
  EXPECT_NEAR(j["overall"]["iou"].get<double>(), 0.375, 1e-12);
  EXPECT_NEAR(j["classes"]["colour"]["iou"].get<double>(), 0.75, 1e-12);
  EXPECT_NEAR(j["classes"]["colour"]["entropy"].get<double>(), 0.3, 1e-12);
  EXPECT_EQ(j["classes"]["other"]["n"], 1);
  EXPECT_EQ(j["words"]["red"]["n"], 2);
  EXPECT_NE(summary.table().find("colour"), std::string::npos);
}

TEST(WordClasses, FromAPlainObjectOrAWorldVocabulary) {
  auto c = word_classes(nlohmann::json::parse(R"({"colour": ["Red", "green"], "shape": ["star"]})"),
                        "w.json");
  EXPECT_EQ(c.at("red"), "colour");
  EXPECT_EQ(c.at("star"), "shape");
  c = word_classes(nlohmann::json::parse(
                       R"({"seed": 1, "vocabulary": {"colours": [{"name": "red", "rgb": [1, 0, 0]}],
                           "shapes": ["ring"], "sizes": {"large": 0.3}, "question_types": ["colour"],
                           "train_sizes": ["small"]}})"),
                   "world.json");
  EXPECT_EQ(c.at("red"), "colour");
  EXPECT_EQ(c.at("ring"), "shape");
  EXPECT_EQ(c.at("large"), "size");
  EXPECT_EQ(c.count("colour"), 0u);  // a question type, not a word of the vocabulary
  EXPECT_EQ(c.count("small"), 0u);
  EXPECT_THROW(word_classes(nlohmann::json::parse("[1]"), "w.json"), Error);
  EXPECT_THROW(word_classes(nlohmann::json::parse(R"({"a": 1})"), "w.json"), Error);
}

}  // namespace
}  // namespace lavender::eval
