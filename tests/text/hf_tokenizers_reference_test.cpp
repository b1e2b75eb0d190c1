// Our tokenizer.json loaders against the official Hugging Face tokenizers library (its Rust core
// through the npm package `tokenizers`, run by tests/tokenizer-ref/hf_reference.mjs) on a
// generated corpus of ~2,000 varied lines plus lines around added tokens: Llama 2 as llava-hf
// ships it, Llama 3, and edits of Llama 2's file covering the Metaspace pre-tokenizer and
// decoder, normalizers and added-token flags. Ids (with special tokens) and decodes (with and
// without special tokens) must be identical. Needs node and `npm ci` in tests/tokenizer-ref
// (npm_reference.h says what happens without them).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lavender/text/byte_bpe.h"
#include "lavender/text/sp_bpe.h"
#include "lavender/text/tokenizer.h"
#include "npm_reference.h"
#include "test_jsonl.h"
#include "test_paths.h"

namespace lavender::text {
namespace {

using Ids = std::vector<int64_t>;

class HfTokenizersReference : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    skip_reason_ = test::npm_reference_missing({"tokenizers"});
    if (!skip_reason_.empty()) return;
    out_ = new test::TempDir();
    const std::string data = test::shared_dir() + "/data";
    const std::string cmd = "cd '" + test::npm_reference_dir() +
                            "' && node hf_reference.mjs --llama2 '" + data +
                            "/llama2/tokenizer.json' --llama3 '" + data +
                            "/llama3/tokenizer.json' --out '" + out_->path() + "' --lines 2000";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    for (const auto& row : test::read_jsonl(out_->file("corpus.jsonl")))
      corpus_.push_back(row.get<std::string>());
  }
  static void TearDownTestSuite() {
    delete out_;
    out_ = nullptr;
  }
  void SetUp() override { LAVENDER_REQUIRE_NPM_REFERENCE(skip_reason_); }

  // Decoding that can skip special tokens, whichever kind `tok` is.
  static std::string decode(const Tokenizer& tok, const Ids& ids, bool skip_special) {
    if (const auto* sp = dynamic_cast<const SpBpeTokenizer*>(&tok))
      return sp->decode(ids, skip_special);
    return dynamic_cast<const ByteBpeTokenizer&>(tok).decode(ids, skip_special);
  }

  // Every corpus line: ids, decode and decode without specials equal the library's.
  static void expect_same(const std::string& variant, const std::string& folder) {
    SCOPED_TRACE(variant);
    const auto tok = load_tokenizer(folder);
    const auto expected = test::read_jsonl(out_->file(variant + ".jsonl"));
    ASSERT_EQ(expected.size(), corpus_.size());
    size_t bad_ids = 0, bad_text = 0;
    for (size_t i = 0; i < corpus_.size(); ++i) {
      const Ids ids = tok->encode(corpus_[i], true);
      const Ids ref = expected[i]["ids"].get<Ids>();
      if (ids != ref && ++bad_ids <= 3)
        ADD_FAILURE() << "line " << i + 1 << ": " << nlohmann::json(corpus_[i]) << "\n  ours "
                      << nlohmann::json(ids) << "\n  ref  " << nlohmann::json(ref);
      const std::string text = decode(*tok, ref, false), skip = decode(*tok, ref, true);
      if ((text != expected[i]["text"] || skip != expected[i]["text_skip"]) && ++bad_text <= 3)
        ADD_FAILURE() << "decode of line " << i + 1 << "\n  ours " << nlohmann::json(text) << " / "
                      << nlohmann::json(skip) << "\n  ref  " << expected[i]["text"] << " / "
                      << expected[i]["text_skip"];
    }
    EXPECT_EQ(bad_ids, 0u) << "lines whose ids differ (of " << corpus_.size() << ")";
    EXPECT_EQ(bad_text, 0u) << "lines whose decodes differ (of " << corpus_.size() << ")";
  }

  static std::string skip_reason_;
  static test::TempDir* out_;
  static std::vector<std::string> corpus_;
};

std::string HfTokenizersReference::skip_reason_;
test::TempDir* HfTokenizersReference::out_ = nullptr;
std::vector<std::string> HfTokenizersReference::corpus_;

TEST_F(HfTokenizersReference, Llama2AsLlavaHfShipsIt) {
  ASSERT_GE(corpus_.size(), 2000u);
  // The published folder itself (tokenizer_config.json, added_tokens.json and all).
  expect_same("llama2", test::shared_dir() + "/data/llama2");
}

TEST_F(HfTokenizersReference, Llama3) {
  expect_same("llama3", out_->file("llama3"));
}

TEST_F(HfTokenizersReference, MetaspacePrependFirst) {
  expect_same("llama2_metaspace_first", out_->file("llama2_metaspace_first"));
}

TEST_F(HfTokenizersReference, MetaspaceAlwaysWithSplitAndItsDecoder) {
  expect_same("llama2_metaspace_always_split", out_->file("llama2_metaspace_always_split"));
}

TEST_F(HfTokenizersReference, NormalizersAndAddedTokenFlags) {
  expect_same("llama2_normalizers_flags", out_->file("llama2_normalizers_flags"));
}

// Every variant the script wrote is one of the tests above.
TEST_F(HfTokenizersReference, EveryVariantIsCompared) {
  const auto names = test::read_jsonl(out_->file("variants.json")).at(0);
  EXPECT_EQ(names, nlohmann::json({"llama2", "llama3", "llama2_metaspace_first",
                                   "llama2_metaspace_always_split", "llama2_normalizers_flags"}));
}

}  // namespace
}  // namespace lavender::text
