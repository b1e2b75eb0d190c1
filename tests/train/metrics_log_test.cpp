#include "lavender/train/metrics_log.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>

#include "lavender/io/json_file.h"
#include "lavender/train/event_file.h"
#include "lavender/util/error.h"
#include "test_paths.h"
#include "train/event_reader.h"

namespace lavender::train {
namespace {

std::vector<int64_t> steps_of(const std::string& path) {
  std::vector<int64_t> steps;
  for (const auto& row : read_metrics_log(path)) steps.push_back(row.step);
  return steps;
}

void log_steps(MetricsLog& log, int64_t first, int64_t last) {
  for (int64_t s = first; s <= last; ++s)
    log.log(s, {{"total", 10.0 - static_cast<double>(s)}, {"lr", 1e-5}});
}

TEST(MetricsLog, WritesOneOrderedObjectPerStep) {
  test::TempDir dir;
  {
    MetricsLog log(dir.path());
    log.log(1, {{"total", 2.5}, {"text", 2.0}, {"attention", 0.5}, {"lr", 2e-5}});
    log.log(3, {{"total", std::nan("")}, {"skipped", 1}});
  }
  const std::string text = io::read_text_file(dir.file("metrics.jsonl"));
  EXPECT_EQ(text.substr(0, text.find('\n')),
            R"({"step":1,"total":2.5,"text":2.0,"attention":0.5,"lr":2e-05})");
  const auto rows = read_metrics_log(dir.file("metrics.jsonl"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].step, 1);
  ASSERT_EQ(rows[0].values.size(), 4u);
  EXPECT_EQ(rows[0].values[2].first, "attention");
  EXPECT_EQ(rows[0].values[3].second, 2e-5);  // round-trips exactly
  EXPECT_EQ(rows[1].step, 3);
  EXPECT_TRUE(std::isnan(rows[1].values[0].second));  // NaN written as null
  EXPECT_EQ(rows[1].values[1].second, 1.0);
}

TEST(MetricsLog, ResumeDropsWhatWasLoggedAfterTheCheckpoint) {
  test::TempDir dir;
  {
    MetricsLog log(dir.path());
    log_steps(log, 1, 7);  // the run dies at step 7; its last checkpoint was step 4
  }
  MetricsLog log(dir.path(), 4);
  EXPECT_EQ(log.last_step(), 4);
  EXPECT_EQ(steps_of(log.path()), (std::vector<int64_t>{1, 2, 3, 4}));
  log_steps(log, 5, 6);
  EXPECT_EQ(steps_of(log.path()), (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
  // The kept rows are untouched and the new ones continue the sequence.
  EXPECT_EQ(read_metrics_log(log.path())[4].values[0].second, 5.0);
  // Steps only increase, so the file never holds a step twice.
  EXPECT_THROW(log.log(6, {{"total", 1.0}}), Error);
  EXPECT_THROW(log.log(7, {{"step", 1.0}}), Error);
  EXPECT_THROW(log.log(7, {{"a", 1.0}, {"a", 2.0}}), Error);
}

TEST(MetricsLog, ATornLastLineIsIgnoredAndRemovedOnResume) {
  test::TempDir dir;
  const std::string path = dir.file("metrics.jsonl");
  std::ofstream(path) << "{\"step\":1,\"total\":3.0}\n{\"step\":2,\"total\":2.0}\n{\"step\":3,\"to";
  EXPECT_EQ(steps_of(path), (std::vector<int64_t>{1, 2}));
  {
    MetricsLog log(dir.path(), 10);
    EXPECT_EQ(log.last_step(), 2);
    log_steps(log, 3, 3);
  }
  // Step 3 is a whole line of its own, not glued to the torn fragment.
  EXPECT_EQ(steps_of(path), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(io::read_text_file(path).find("\"to{"), std::string::npos);
}

TEST(MetricsLog, AFreshRunReplacesAnOldLog) {
  test::TempDir dir;
  {
    MetricsLog log(dir.path());
    log_steps(log, 1, 3);
  }
  MetricsLog log(dir.path());
  EXPECT_FALSE(log.last_step().has_value());
  EXPECT_TRUE(read_metrics_log(log.path()).empty());
  log_steps(log, 1, 1);
  EXPECT_EQ(steps_of(log.path()), (std::vector<int64_t>{1}));
}

TEST(MetricsLog, ACorruptLineInsideTheLogIsAnErrorNamingIt) {
  test::TempDir dir;
  const std::string path = dir.file("metrics.jsonl");
  std::ofstream(path) << "{\"step\":1}\nnot json\n{\"step\":3}\n";
  try {
    read_metrics_log(path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("metrics.jsonl:2"), std::string::npos) << e.what();
  }
  std::ofstream(path) << "{\"step\":1,\"loss\":\"high\"}\n";
  EXPECT_THROW(read_metrics_log(path), Error);
  std::ofstream(path) << "{\"total\":1}\n";
  EXPECT_THROW(MetricsLog(dir.path(), 5), Error);
}

TEST(MetricsLog, MirrorsEveryValueIntoTheEventFile) {
  test::TempDir dir;
  using namespace test::events;
  {
    EventFileWriter events(dir.file("tb"));
    MetricsLog log(dir.path(), std::nullopt, &events);
    log.log(1, {{"total", 2.5}, {"lambda", 0.1}});
    log.flush();
  }
  std::string second_run;
  {
    EventFileWriter events(dir.file("tb"));
    second_run = events.path();
    MetricsLog log(dir.path(), 1, &events);
    log.log(2, {{"total", 1.25}});
  }
  const auto files = event_files(dir.file("tb"));
  ASSERT_EQ(files.size(), 2u);
  const auto records = read_records(second_run);
  // version, session start at 2, one scalar.
  ASSERT_EQ(records.size(), 3u);
  const Fields start = parse(records[1]);
  EXPECT_EQ(start.ints.find(2)->second, 2u);
  EXPECT_EQ(start.bytes.count(7), 1u);
  const Fields scalar = parse(records[2]);
  EXPECT_EQ(scalar.ints.find(2)->second, 2u);
  const Fields value = parse(parse(scalar.bytes.find(5)->second).bytes.find(1)->second);
  EXPECT_EQ(value.bytes.find(1)->second, "train/total");
  EXPECT_EQ(as_float(value.ints.find(2)->second), 1.25f);
  const std::string first_run = files[0] == second_run ? files[1] : files[0];
  EXPECT_EQ(read_records(first_run).size(), 3u);  // version + two scalars
}

}  // namespace
}  // namespace lavender::train
