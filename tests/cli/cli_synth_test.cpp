// `lavender synth` as a user meets it: builds, says so when run again, refuses other settings.
#include <gtest/gtest.h>

#include <filesystem>

#include "cli/run_cli.h"
#include "test_paths.h"

namespace lavender {
namespace {

using test::run_cli;

TEST(CliSynth, BuildsThenReusesThenRefusesOtherSettings) {
  test::TempDir dir;
  const std::string out = dir.file("world");
  auto r = run_cli("synth --out " + out + " --seed 3 --train 30 --test 8");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("test-ood-crowded"), std::string::npos) << r.output;
  EXPECT_TRUE(std::filesystem::exists(out + "/world.json"));
  EXPECT_TRUE(std::filesystem::exists(out + "/images/test-ood-size/000007.png"));
  EXPECT_TRUE(std::filesystem::exists(out + "/truth/train/store.json"));

  r = run_cli("synth --out " + out + " --seed 3 --train 30 --test 8");
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_NE(r.output.find("already built"), std::string::npos) << r.output;

  r = run_cli("synth --out " + out + " --seed 4 --train 30 --test 8");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("other settings"), std::string::npos) << r.output;

  r = run_cli("synth --seed 4");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.output.find("--out is required"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace lavender
