#include "lavender/text/open_flamingo_tokens.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lavender/text/tokenizer.h"
#include "lavender/util/error.h"
#include "test_errors.h"
#include "test_paths.h"
#include "vlm/tiny_vlm_folder.h"

namespace lavender::text {
namespace {

using test::error_of;

// A folder holding `tokenizer` as its tokenizer.json.
std::string write_tokenizer_folder(const test::TempDir& dir, const nlohmann::json& tokenizer) {
  test::write_file(dir.file("tokenizer.json"), tokenizer.dump());
  return dir.path();
}

// Upstream's factory on a tokenizer of n = 100 tokens: <|endofchunk|> n, <image> n + 1, <PAD>
// n + 2 (no pad token configured), n + 3 rows: the fixture's ids.
TEST(OpenFlamingoTokens, AddedAfterTheTokenizerInUpstreamsOrder) {
  test::TempDir dir;
  const auto t =
      add_open_flamingo_tokens(write_tokenizer_folder(dir, test::tiny_flamingo_base_tokenizer()));
  EXPECT_EQ(t.base_length, 100);
  EXPECT_EQ(t.eoc_token_id, 100);
  EXPECT_EQ(t.media_token_id, 101);
  EXPECT_EQ(t.pad_token_id, 102);
  EXPECT_TRUE(t.pad_added);
  EXPECT_EQ(t.length, 103);
  EXPECT_TRUE(t.tokenizer_config.is_null());

  // The tokenizer.json with them loads and splits them out of text.
  test::TempDir out;
  test::write_file(out.file("tokenizer.json"), t.tokenizer.dump());
  const auto tok = load_tokenizer(out.path());
  EXPECT_EQ(tok->encode("<image>ab<|endofchunk|><PAD>", false),
            (std::vector<int64_t>{101, 66, 67, 100, 102}));
}

// A tokenizer with a pad token keeps it, and <PAD> is not added (n + 2 rows).
TEST(OpenFlamingoTokens, AConfiguredPadTokenIsKept) {
  test::TempDir dir;
  write_tokenizer_folder(dir, test::tiny_flamingo_base_tokenizer());
  test::write_file(dir.file("tokenizer_config.json"),
                   R"({"pad_token": {"content": "<unk>"}, "add_bos_token": false})");
  const auto t = add_open_flamingo_tokens(dir.path());
  EXPECT_EQ(t.pad_token_id, 0);
  EXPECT_FALSE(t.pad_added);
  EXPECT_EQ(t.length, 102);
  EXPECT_EQ(t.tokenizer_config["add_bos_token"], false);  // carried over for the root folder

  test::TempDir other;
  write_tokenizer_folder(other, test::tiny_flamingo_base_tokenizer());
  test::write_file(other.file("special_tokens_map.json"), R"({"pad_token": "<nope>"})");
  const std::string m = error_of([&] { add_open_flamingo_tokens(other.path()); });
  EXPECT_NE(m.find("\"<nope>\" is not a token"), std::string::npos) << m;
}

// Tokens the tokenizer already has keep their ids, as transformers' add_special_tokens does:
// the chat tests' tokenizer has all three at 100–102, but 259 tokens in all.
TEST(OpenFlamingoTokens, TokensAlreadyThereKeepTheirIds) {
  test::TempDir dir;
  const auto t =
      add_open_flamingo_tokens(write_tokenizer_folder(dir, test::tiny_flamingo_tokenizer()));
  EXPECT_EQ(t.eoc_token_id, 100);
  EXPECT_EQ(t.media_token_id, 101);
  EXPECT_EQ(t.pad_token_id, 102);
  EXPECT_EQ(t.base_length, 259);
  EXPECT_EQ(t.length, 259);
}

TEST(OpenFlamingoTokens, AMissingTokenizerSaysWhereToGetIt) {
  test::TempDir dir;
  const std::string m = error_of([&] { add_open_flamingo_tokens(dir.path()); });
  EXPECT_NE(m.find("no tokenizer.json"), std::string::npos) << m;
  EXPECT_NE(m.find("gpt-neox-20b"), std::string::npos) << m;
  EXPECT_NE(m.find(dir.path()), std::string::npos) << m;
}

}  // namespace
}  // namespace lavender::text
