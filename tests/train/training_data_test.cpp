#include "lavender/train/training_data.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace lavender::train {
namespace {

TEST(TrainingData, ConversationsAndCaptionsBecomeSamplesKeyedLikeTheTeacher) {
  auto data = data::parse_dataset(
      R"({"id": "c1", "image": "a.png", "conversations": [{"from": "human", "value": "<image>\nWhat?"}, {"from": "gpt", "value": "A cat."}]}
{"id": "c2", "image": "b.png", "conversations": [{"from": "human", "value": "<image>\nWhat?"}]}
{"id": "c3", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}
)",
      "d.jsonl");
  TrainingSet set = training_samples(data);
  ASSERT_EQ(set.samples.size(), 1u);
  EXPECT_EQ(set.samples[0].key, "c1");
  ASSERT_EQ(set.samples[0].messages.size(), 2u);
  EXPECT_EQ(set.samples[0].messages[0].text, "What?");
  EXPECT_EQ(set.samples[0].messages[0].images, 1);
  EXPECT_EQ(set.problems.size(), 2u);  // no reply; no image

  auto captions = data::parse_dataset(
      R"({"images": [{"filename": "x.jpg", "sentences": [{"raw": "A dog."}, {"raw": "A pup."}]}]})",
      "k.json");
  TrainingSet c = training_samples(captions, "Caption it.");
  ASSERT_EQ(c.samples.size(), 2u);
  EXPECT_EQ(c.samples[1].key, data::image_text_pairs(captions.records[0], data::TextChoice::caption)[1].key);
  EXPECT_EQ(c.samples[1].messages[0].text, "Caption it.");
  EXPECT_EQ(c.samples[1].messages[1].text, "A pup.");
}

TEST(TrainingData, EpochOrderIsASeededPermutation) {
  auto a = epoch_order(50, 3, 0), b = epoch_order(50, 3, 0), c = epoch_order(50, 3, 1);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(std::set<size_t>(a.begin(), a.end()).size(), 50u);
  const auto in_file_order = epoch_order(50, 3, 0, false);
  EXPECT_TRUE(std::is_sorted(in_file_order.begin(), in_file_order.end()));
  EXPECT_EQ(sample_at(50, 3, 57), c[7]);
}

}  // namespace
}  // namespace lavender::train
