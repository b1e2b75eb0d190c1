#include "lavender/train/event_file.h"

#include <gtest/gtest.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "lavender/eval/canvas.h"
#include "lavender/util/error.h"
#include "test_paths.h"
#include "train/event_reader.h"

namespace lavender::train {
namespace {

using namespace test::events;

// --- tests ------------------------------------------------------------------------------------

TEST(Crc32c, MatchesKnownVectors) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(crc32c("", 0), 0u);
  // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, and of 0xFF.
  const std::string zeros(32, '\0'), ones(32, '\xFF');
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  EXPECT_EQ(crc32c(ones.data(), ones.size()), 0x62A8AB43u);
  // Continuing a CRC over a split buffer gives the CRC of the whole.
  EXPECT_EQ(crc32c("6789", 4, crc32c("12345", 5)), 0xE3069283u);
  EXPECT_EQ(masked_crc32c("123456789", 9), slow_mask(0xE3069283u));
  EXPECT_EQ(slow_crc32c("123456789"), 0xE3069283u);
}

TEST(EventFileWriter, WritesRecordsTensorBoardCanRead) {
  test::TempDir dir;
  const std::string logdir = dir.file("runs/a");
  io::Image image = eval::blank_image(6, 4, {200, 10, 30});
  std::string path;
  {
    EventFileWriter w(logdir);
    path = w.path();
    w.add_scalar("train/total", 1.5f, 1);
    w.add_scalar("train/lr", 0.0f, 1);
    w.add_scalar("train/total", -0.25f, 2);
    w.add_image("align/sample0", image, 2);
    w.add_session_start(3);
    w.flush();
  }
  const std::string name = std::filesystem::path(path).filename().string();
  EXPECT_EQ(name.rfind("events.out.tfevents.", 0), 0u) << name;
  EXPECT_EQ(std::filesystem::path(path).parent_path(), std::filesystem::path(logdir));

  const auto records = read_records(path);
  ASSERT_EQ(records.size(), 6u);
  std::vector<Fields> events;
  for (const auto& r : records) events.push_back(parse(r));
  const double now = static_cast<double>(std::time(nullptr));
  for (const auto& e : events) {
    ASSERT_EQ(e.wire.at(1), 1);  // wall_time: a double
    EXPECT_NEAR(as_double(e.ints.find(1)->second), now, 60.0);
  }
  EXPECT_EQ(events[0].bytes.find(3)->second, "brain.Event:2");

  struct Scalar {
    std::string tag;
    float value;
    uint64_t step;
  };
  const std::vector<Scalar> want = {
      {"train/total", 1.5f, 1}, {"train/lr", 0.0f, 1}, {"train/total", -0.25f, 2}};
  for (size_t i = 0; i < want.size(); ++i) {
    const Fields& e = events[i + 1];
    EXPECT_EQ(e.ints.find(2)->second, want[i].step);
    const Fields summary = parse(e.bytes.find(5)->second);
    ASSERT_EQ(summary.bytes.count(1), 1u);
    const Fields value = parse(summary.bytes.find(1)->second);
    EXPECT_EQ(value.bytes.find(1)->second, want[i].tag);
    ASSERT_EQ(value.wire.at(2), 5);  // simple_value: a float, present even when 0
    EXPECT_EQ(as_float(value.ints.find(2)->second), want[i].value);
  }

  const Fields img_event = events[4];
  EXPECT_EQ(img_event.ints.find(2)->second, 2u);
  const Fields value = parse(parse(img_event.bytes.find(5)->second).bytes.find(1)->second);
  EXPECT_EQ(value.bytes.find(1)->second, "align/sample0");
  const Fields img = parse(value.bytes.find(4)->second);
  EXPECT_EQ(img.ints.find(1)->second, 4u);  // height
  EXPECT_EQ(img.ints.find(2)->second, 6u);  // width
  EXPECT_EQ(img.ints.find(3)->second, 3u);  // RGB
  const std::string& png = img.bytes.find(4)->second;
  io::Image back = io::decode_image(reinterpret_cast<const uint8_t*>(png.data()), png.size(), "ev");
  EXPECT_EQ(back.pixels, image.pixels);

  const Fields start = events[5];
  EXPECT_EQ(start.ints.find(2)->second, 3u);
  EXPECT_EQ(parse(start.bytes.find(7)->second).ints.find(1)->second, 1u);  // SessionLog.START
}

TEST(EventFileWriter, RecordsAreOnDiskBeforeFlushAndWritersDoNotCollide) {
  test::TempDir dir;
  EventFileWriter a(dir.path());
  EventFileWriter b(dir.path());  // same second: must not truncate a's file
  EXPECT_NE(a.path(), b.path());
  a.add_scalar("x", 2.0f, 7);
  // No flush() and the writer is still open: the record is already readable (a killed run).
  const auto records = read_records(a.path());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(parse(records[1]).ints.find(2)->second, 7u);
  EXPECT_EQ(event_files(dir.path()).size(), 2u);
  EXPECT_THROW(a.add_image("empty", io::Image{}, 1), Error);
}

TEST(EventFileWriter, RefusesAnUncreatableDirectory) {
  test::TempDir dir;
  std::ofstream(dir.file("plain")) << "x";
  EXPECT_THROW(EventFileWriter(dir.file("plain/sub")), Error);
}

}  // namespace
}  // namespace lavender::train
