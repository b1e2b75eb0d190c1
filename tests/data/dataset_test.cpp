#include <gtest/gtest.h>

#include <fstream>

#include "lavender/data/dataset.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::data {
namespace {

std::string write(const test::TempDir& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir.file(name)) << text;
  return dir.file(name);
}

TEST(Dataset, LlavaJsonlBothRoleSpellingsAndBadLines) {
  test::TempDir dir;
  std::string path = write(dir, "conv.jsonl",
                           R"({"id": "a", "image": "x.jpg", "conversations": [)"
                           R"({"from": "human", "value": "<image>\nWhat colour is the ball?"},)"
                           R"({"from": "gpt", "value": "The ball is red."}]})"
                           "\n"
                           "{not json}\n"
                           "\n"
                           R"({"image": "y.jpg", "conversations": [)"
                           R"({"role": "user", "content": "Describe."},)"
                           R"({"role": "assistant", "content": "A cat on a mat."}]})"
                           "\n"
                           R"({"id": "c", "image": "z.jpg"})"
                           "\n"
                           R"({"id": "d", "conversations": [{"from": "robot", "value": "x"}]})"
                           "\n");
  auto r = read_dataset(path, "/data/images");
  EXPECT_EQ(r.format, DatasetFormat::llava_jsonl);
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].image, "/data/images/x.jpg");
  EXPECT_EQ(r.records[0].turns[0].role, "user");
  EXPECT_EQ(r.records[1].turns[1].role, "assistant");
  EXPECT_EQ(r.records[1].id, path + ":4");  // no id: the origin stands in
  ASSERT_EQ(r.problems.size(), 3u);
  EXPECT_NE(r.problems[0].find(path + ":2: invalid JSON"), std::string::npos) << r.problems[0];
  EXPECT_NE(r.problems[1].find(":5: no \"conversations\""), std::string::npos) << r.problems[1];
  EXPECT_NE(r.problems[2].find("unknown role \"robot\""), std::string::npos) << r.problems[2];

  auto assistant = image_text_pairs(r.records[0], TextChoice::assistant);
  ASSERT_EQ(assistant.size(), 1u);
  EXPECT_EQ(assistant[0].text, "The ball is red.");
  EXPECT_EQ(image_text_pairs(r.records[0], TextChoice::user)[0].text, "What colour is the ball?");
  EXPECT_EQ(image_text_pairs(r.records[0], TextChoice::all_turns)[0].text,
            "What colour is the ball? The ball is red.");
}

TEST(Dataset, LlavaJsonListAndTextOnlyRecords) {
  test::TempDir dir;
  std::string path =
      write(dir, "conv.json",
            R"([{"id": 7, "image": "/abs/a.png", "conversations": [)"
            R"({"from": "gpt", "value": "Two dogs."}]},)"
            R"({"id": "t", "conversations": [{"from": "human", "value": "Hi"}]}, 5])");
  auto r = read_dataset(path, "/root");
  EXPECT_EQ(r.format, DatasetFormat::llava_json);
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].id, "7");
  EXPECT_EQ(r.records[0].image, "/abs/a.png");  // absolute paths are kept
  EXPECT_TRUE(image_text_pairs(r.records[1], TextChoice::all_turns).empty());  // no image
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].find("#2: entry is not a JSON object"), std::string::npos);
}

TEST(Dataset, KarpathyCaptions) {
  test::TempDir dir;
  std::string path =
      write(dir, "dataset_flickr30k.json",
            R"({"images": [{"filename": "1.jpg", "split": "train", "sentences": [)"
            R"({"raw": "A man rides a horse."}, {"raw": "  "}, {"raw": "A rider."}]},)"
            R"({"filename": "2.jpg", "filepath": "val2014", "sentences": [{"raw": "Snow."}]},)"
            R"({"filename": "3.jpg", "sentences": []}]})");
  auto r = read_dataset(path, "imgs");
  EXPECT_EQ(r.format, DatasetFormat::karpathy);
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].captions.size(), 2u);
  EXPECT_EQ(r.records[0].split, "train");
  EXPECT_EQ(r.records[1].image, "imgs/val2014/2.jpg");
  auto pairs = image_text_pairs(r.records[0], TextChoice::caption);
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[1].key, "1.jpg#1");
  EXPECT_EQ(pairs[1].text, "A rider.");
  EXPECT_EQ(image_text_pairs(r.records[1], TextChoice::caption)[0].key, "2.jpg");
  EXPECT_EQ(r.problems.size(), 1u);
}

TEST(Dataset, TabSeparatedList) {
  test::TempDir dir;
  std::string path = write(dir, "pairs.tsv",
                           "a.jpg\tA red circle.\r\n"
                           "no tab here\n"
                           "b.jpg\t   \n"
                           "\tOrphan text\n"
                           "c.jpg\tA blue square.\n"
                           "a.jpg\tA circle, red.\n");
  auto r = read_dataset(path);
  EXPECT_EQ(r.format, DatasetFormat::tsv);
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].captions[0], "A red circle.");
  // A second line for a.jpg is a second caption of the same image, keyed a.jpg#1.
  ASSERT_EQ(r.records[0].captions.size(), 2u);
  auto pairs = image_text_pairs(r.records[0], TextChoice::caption);
  EXPECT_EQ(pairs[1].key, "a.jpg#1");
  EXPECT_EQ(image_text_pairs(r.records[1], TextChoice::caption)[0].key, "c.jpg");
  ASSERT_EQ(r.problems.size(), 3u);
  EXPECT_NE(r.problems[0].find(":2: no TAB"), std::string::npos);
  EXPECT_NE(r.problems[1].find(":3: empty text"), std::string::npos);
  EXPECT_NE(r.problems[2].find(":4: empty image path"), std::string::npos);
}

TEST(Dataset, OutOfRangeNumbersAreBadLinesNotCrashes) {
  // nlohmann throws out_of_range (not parse_error) for 1e400; found by fuzzing.
  test::TempDir dir;
  auto r = read_dataset(write(dir, "n.jsonl", "{\"id\": 1e400}\n"));
  EXPECT_TRUE(r.records.empty());
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].find("invalid JSON"), std::string::npos);
  EXPECT_THROW(read_dataset(write(dir, "n.json", "[1e400]"), "", DatasetFormat::llava_json), Error);
}

TEST(Dataset, UnreadableOrBrokenFilesAreErrors) {
  EXPECT_THROW(read_dataset("/no/such/file.jsonl"), Error);
  test::TempDir dir;
  EXPECT_THROW(read_dataset(write(dir, "broken.json", "[{"), "", DatasetFormat::llava_json), Error);
  EXPECT_THROW(read_dataset(write(dir, "k.json", R"({"images": 3})"), "", DatasetFormat::karpathy),
               Error);
  EXPECT_EQ(parse_dataset_format("karpathy"), DatasetFormat::karpathy);
  EXPECT_THROW(parse_dataset_format("csv"), Error);
}

}  // namespace
}  // namespace lavender::data
