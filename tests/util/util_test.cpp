#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "lavender/util/args.h"
#include "lavender/util/atomic_file.h"
#include "lavender/util/error.h"
#include "lavender/util/log.h"
#include "lavender/util/progress.h"
#include "test_paths.h"

namespace lavender {
namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(Args, ParsesFlagsOptionsAndPositionals) {
  ArgParser p("demo", "a demo");
  p.flag("fast", "go fast").option("steps", "how many", "10").positional("PATH", "where");
  ASSERT_TRUE(p.parse({"--fast", "--steps=5", "x.json"}));
  EXPECT_TRUE(p.has("fast"));
  EXPECT_EQ(p.get_int("steps"), 5);
  EXPECT_EQ(p.positionals()[0], "x.json");
  ArgParser q("demo", "a demo");
  q.option("steps", "how many", "10").option("lr", "rate", "0.5").positional("PATH", "where");
  ASSERT_TRUE(q.parse({"a", "--steps", "7"}));
  EXPECT_EQ(q.get_int("steps"), 7);
  EXPECT_DOUBLE_EQ(q.get_double("lr"), 0.5);
  EXPECT_FALSE(q.has("lr"));
}

TEST(Args, RejectsTyposAndMissingValues) {
  ArgParser p("demo", "a demo");
  p.option("steps", "how many", "10");
  EXPECT_THROW(p.parse({"--step", "3"}), Error);
  ArgParser q("demo", "a demo");
  q.option("steps", "how many", "10");
  EXPECT_THROW(q.parse({"--steps"}), Error);
  ArgParser r("demo", "a demo");
  r.option("steps", "how many", "x");
  ASSERT_TRUE(r.parse({}));
  EXPECT_THROW(r.get_int("steps"), Error);
  ArgParser s("demo", "a demo");
  s.positional("PATH", "where");
  EXPECT_THROW(s.parse({}), Error);
  EXPECT_THROW(s.parse({"a", "b"}), Error);
}

TEST(Args, HelpListsEveryOptionWithDefault) {
  ArgParser p("train", "trains");
  p.option("lambda", "weight of the attention loss", "10").flag("resume", "continue");
  EXPECT_FALSE(p.parse({"--help"}));
  std::string help = p.help();
  EXPECT_NE(help.find("--lambda VALUE  (default: 10)"), std::string::npos);
  EXPECT_NE(help.find("--resume"), std::string::npos);
}

TEST(Log, LevelsParseAndFilter) {
  EXPECT_EQ(log::parse_level("warn"), log::Level::warn);
  EXPECT_THROW(log::parse_level("loud"), Error);
  auto old = log::level();
  log::set_level(log::Level::warn);
  EXPECT_FALSE(log::enabled(log::Level::info));
  EXPECT_TRUE(log::enabled(log::Level::error));
  log::set_level(old);
}

TEST(Progress, FormatsRateAndEta) {
  EXPECT_EQ(Progress::format_line("extract", 50, 100, 10.0),
            "extract 50/100 (50%) 5.0 it/s ETA 10s elapsed 10s");
  EXPECT_EQ(Progress::format_line("train", 3, 0, 6.0), "train 3 2.0 s/it elapsed 6s");
  EXPECT_EQ(Progress::format_duration(3725), "1h02m");
  EXPECT_EQ(Progress::format_duration(125), "2m05s");
}

TEST(Progress, PlainLinesWhenNotATerminal) {
  test::TempDir dir;
  std::FILE* f = std::fopen(dir.file("log").c_str(), "w");
  {
    Progress p("job", 4, f, /*interactive=*/0, /*plain_interval=*/1000.0);
    for (int i = 0; i < 4; ++i) p.advance();
  }
  std::fclose(f);
  std::string text = read_all(dir.file("log"));
  EXPECT_EQ(text.find('\r'), std::string::npos);  // no redraws in a log file
  EXPECT_NE(text.find("job 4/4 (100%)"), std::string::npos);
}

TEST(AtomicFile, ReplacesWholeOrNotAtAll) {
  test::TempDir dir;
  std::string path = dir.file("out.txt");
  write_file_atomically(path, "first");
  EXPECT_EQ(read_all(path), "first");
  {
    AtomicFileWriter w(path);
    w.write("second, never committed");
    EXPECT_TRUE(std::filesystem::exists(w.temporary_path()));
  }
  EXPECT_EQ(read_all(path), "first");
  size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1u);  // the abandoned temporary file is gone
  write_file_atomically(path, "third");
  EXPECT_EQ(read_all(path), "third");
}

TEST(AtomicFile, UnwritableDirectoryIsAClearError) {
  try {
    write_file_atomically("/nonexistent-dir/x.txt", "a");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/x.txt"), std::string::npos);
  }
}

}  // namespace
}  // namespace lavender

namespace lavender {
namespace {

TEST(Args, CommaSeparatedLists) {
  ArgParser p("x", "test");
  p.option("words", "w").option("layers", "l").option("none", "n");
  ASSERT_TRUE(p.parse({"--words", "red,,dish", "--layers=-1,3"}));
  EXPECT_EQ(p.get_list("words"), (std::vector<std::string>{"red", "dish"}));
  EXPECT_EQ(p.get_int_list("layers"), (std::vector<int64_t>{-1, 3}));
  EXPECT_TRUE(p.get_list("none").empty());
  ASSERT_TRUE(p.parse({"--layers", "1,x"}));
  EXPECT_THROW(p.get_int_list("layers"), Error);
}

}  // namespace
}  // namespace lavender
