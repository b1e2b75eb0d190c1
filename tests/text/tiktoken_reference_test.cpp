// Our byte-level BPE against the real tiktoken (its Rust core as WASM) and llama3-tokenizer-js
// on a generated corpus of several thousand lines (tests/tokenizer-ref/corpus.mjs). Needs node
// and `npm ci` in tests/tokenizer-ref (npm_reference.h says what happens without them).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lavender/text/byte_bpe.h"
#include "npm_reference.h"
#include "test_jsonl.h"
#include "test_paths.h"

namespace lavender::text {
namespace {

using Ids = std::vector<int64_t>;

using test::llama3_path;

using test::read_jsonl;

// Runs reference.mjs once for the whole suite.
class TiktokenReference : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    skip_reason_ = test::npm_reference_missing({"tiktoken", "llama3-tokenizer-js"});
    if (!skip_reason_.empty()) return;
    out_ = new test::TempDir();
    const std::string cmd = "cd '" + test::npm_reference_dir() +
                            "' && node reference.mjs --llama3 '" + llama3_path() + "' --out '" +
                            out_->path() + "' --lines 4000";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    for (const auto& row : read_jsonl(out_->file("corpus.jsonl")))
      corpus_.push_back(row.get<std::string>());
  }
  static void TearDownTestSuite() {
    delete out_;
    out_ = nullptr;
  }
  void SetUp() override { LAVENDER_REQUIRE_NPM_REFERENCE(skip_reason_); }

  // Every line's ids from `tok` equal the reference file's; shows the first few differences.
  static void expect_same_ids(const ByteBpeTokenizer& tok, const std::string& reference) {
    const auto expected = read_jsonl(out_->file(reference));
    ASSERT_EQ(expected.size(), corpus_.size()) << reference;
    size_t bad = 0;
    for (size_t i = 0; i < corpus_.size(); ++i) {
      const Ids ids = tok.encode(corpus_[i], false);
      if (ids == expected[i].get<Ids>()) continue;
      if (++bad <= 3)
        ADD_FAILURE() << reference << " line " << i + 1 << ": " << nlohmann::json(corpus_[i])
                      << "\n  ours " << nlohmann::json(ids) << "\n  ref  " << expected[i];
    }
    EXPECT_EQ(bad, 0u) << "lines differing from " << reference << " (of " << corpus_.size() << ")";
  }

  static std::string skip_reason_;
  static test::TempDir* out_;
  static std::vector<std::string> corpus_;
};

std::string TiktokenReference::skip_reason_;
test::TempDir* TiktokenReference::out_ = nullptr;
std::vector<std::string> TiktokenReference::corpus_;

TEST_F(TiktokenReference, Llama3IdsEqualTiktokenAndLlama3TokenizerJs) {
  ASSERT_GE(corpus_.size(), 4000u);
  const auto tok = load_byte_bpe_tokenizer(llama3_path());
  expect_same_ids(*tok, "llama3_tiktoken.jsonl");
  expect_same_ids(*tok, "llama3_js.jsonl");
  // And decoding gives the text back.
  size_t bad = 0;
  for (const auto& text : corpus_) bad += tok->decode(tok->encode(text, false)) != text;
  EXPECT_EQ(bad, 0u);
}

TEST_F(TiktokenReference, Cl100kRankFileEqualsTiktoken) {
  std::vector<std::pair<std::string, int64_t>> specials;
  const nlohmann::json special_json = read_jsonl(out_->file("cl100k_special.json")).at(0);
  for (const auto& [name, id] : special_json.items())
    specials.emplace_back(name, id.get<int64_t>());
  const auto tok =
      load_tiktoken_ranks(out_->file("cl100k_base.tiktoken"), SplitPattern::kLlama3, specials);
  EXPECT_EQ(tok->vocab_size(), 100277u);
  EXPECT_EQ(tok->token_to_id("<|endoftext|>"), 100257);
  expect_same_ids(*tok, "cl100k.jsonl");
}

}  // namespace
}  // namespace lavender::text
