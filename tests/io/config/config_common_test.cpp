// Behaviour shared by every config parser: top-level shape, type checks, numeric limits, files.
#include <gtest/gtest.h>

#include <fstream>

#include "config_test_util.h"
#include "lavender/io/config/clip.h"
#include "lavender/io/config/diffusers.h"
#include "lavender/io/config/llama.h"
#include "test_paths.h"

namespace lavender::io::config {
namespace {

using lavender::test::expect_config_error;
using lavender::test::parse;

TEST(ConfigCommon, TopLevelMustBeObject) {
  expect_config_error([] { parse_llama_config(parse("[1, 2]"), "a.json"); },
                      {"a.json: expected a JSON object at the top level, got array"});
  expect_config_error([] { parse_ddpm_scheduler_config(parse("null"), "a.json"); },
                      {"a.json: expected a JSON object"});
}

TEST(ConfigCommon, HugeAndOverflowingNumbers) {
  expect_config_error(
      [] { parse_clip_text_config(parse(R"({"vocab_size": 18446744073709551615})"), "a"); },
      {"field 'vocab_size': value 18446744073709551615 out of range"});
  expect_config_error([] { parse_clip_text_config(parse(R"({"vocab_size": 4294967296})"), "a"); },
                      {"field 'vocab_size'", "out of range"});
}

TEST(ConfigCommon, UnknownFieldsIgnored) {
  const ClipTextConfig c =
      parse_clip_text_config(parse(R"({"whatever": {"deep": [1, 2]}, "hidden_size": 64})"), "a");
  EXPECT_EQ(c.hidden_size, 64);
}

TEST(ConfigCommon, LoadReportsPath) {
  expect_config_error([] { load_llama_config("/nonexistent/dir/config.json"); },
                      {"/nonexistent/dir/config.json"});
  test::TempDir dir;
  const std::string path = dir.file("config.json");
  std::ofstream(path) << R"({"num_attention_heads": "many"})";
  expect_config_error([&] { load_llama_config(path); },
                      {path + ": field 'num_attention_heads': expected an integer, got string"});
}

}  // namespace
}  // namespace lavender::io::config
