#include "lavender/text/byte_bpe.h"
#include "lavender/text/byte_tokenizer_json.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "lavender/text/clip_tokenizer.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::text {
namespace {

using Ids = std::vector<int64_t>;

using test::llama3_path;

// Loading builds 128k-entry tables and 280k merges; share one tokenizer across tests.
const ByteBpeTokenizer& llama3() {
  static const std::unique_ptr<ByteBpeTokenizer> tok = load_byte_bpe_tokenizer(llama3_path());
  return *tok;
}

TEST(ByteBpe, MatchesLlama3ReferenceIds) {
  std::ifstream in(test::shared_dir() + "/data/tokenizer-samples/llama3_expected.jsonl");
  ASSERT_TRUE(in) << "missing llama3_expected.jsonl";
  int rows = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const auto row = nlohmann::json::parse(line);
    const std::string text = row["text"].get<std::string>();
    EXPECT_EQ(llama3().encode(text, false), row["ids"].get<Ids>()) << text;
    EXPECT_EQ(llama3().decode(llama3().encode(text, false)), text);
    ++rows;
  }
  EXPECT_EQ(rows, 12);
}

TEST(ByteBpe, Llama3SpecialTokens) {
  const auto& tok = llama3();
  EXPECT_EQ(tok.bos_id(), 128000);
  EXPECT_EQ(tok.eos_id(), 128001);
  EXPECT_EQ(tok.vocab_size(), 128257u);
  EXPECT_EQ(tok.token_to_id("<|image|>"), 128256);
  EXPECT_EQ(tok.encode("hi", true), (Ids{128000, 6151}));
  EXPECT_EQ(tok.encode("", true), (Ids{128000}));
  EXPECT_TRUE(tok.encode("", false).empty());
  // Special tokens in the text are single ids whatever add_special says, and split the text.
  const Ids ids = tok.encode("<|image|>If I had", false);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], 128256);
  EXPECT_EQ(Ids(ids.begin() + 1, ids.end()), tok.encode("If I had", false));
  EXPECT_EQ(tok.decode(ids), "<|image|>If I had");
  EXPECT_EQ(tok.decode(ids, true), "If I had");
  EXPECT_TRUE(tok.is_special(128256));
  EXPECT_FALSE(tok.is_special(6151));
  // A broken-up special token is ordinary text.
  EXPECT_NE(tok.encode("<|image|", false).size(), 1u);
}

TEST(ByteBpe, InvalidUtf8BecomesReplacementCharacter) {
  const auto& tok = llama3();
  EXPECT_EQ(tok.encode("a\xff"
                       "b",
                       false),
            tok.encode("a\xEF\xBF\xBD"
                       "b",
                       false));
  // A token sequence cutting a character in half decodes to U+FFFD, never to invalid UTF-8.
  const Ids smile = tok.encode("\xF0\x9F\x99\x82", false);  // 🙂: several byte tokens
  ASSERT_GT(smile.size(), 1u);
  EXPECT_EQ(tok.decode({smile[0]}), "\xEF\xBF\xBD");
}

// A tokenizer.json with the 256 byte symbols (ids = byte values), "bc", "ab", "abc" and two
// merges: "b c" (rank 0), "a b" (rank 1). No merge makes "abc".
nlohmann::json tiny_json(bool ignore_merges) {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_alphabet()[b]] = b;
  vocab["bc"] = 256;
  vocab["ab"] = 257;
  vocab["abc"] = 258;
  nlohmann::json j = {
      {"model",
       {{"type", "BPE"},
        {"vocab", vocab},
        {"merges", {"b c", "a b"}},
        {"ignore_merges", ignore_merges}}},
      {"normalizer", nullptr},
      {"pre_tokenizer", llama3_byte_level_pre_tokenizer()},
      {"added_tokens", {{{"id", 259}, {"content", "<s>"}, {"special", true}}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "<s>"}}}}, {{"Sequence", {{"id", "A"}}}}}},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {259}}}}}}}},
      {"decoder", {{"type", "ByteLevel"}}}};
  return j;
}

std::unique_ptr<ByteBpeTokenizer> tiny(bool ignore_merges) {
  return load_byte_bpe_tokenizer(tiny_json(ignore_merges), "tiny/tokenizer.json");
}

TEST(ByteBpe, MergesByRankAndIgnoreMerges) {
  EXPECT_EQ(tiny(false)->encode("abc", false), (Ids{'a', 256}));  // "b c" outranks "a b"
  EXPECT_EQ(tiny(false)->encode("ab", false), (Ids{257}));
  EXPECT_EQ(tiny(true)->encode("abc", false), (Ids{258}));  // the whole piece is a token
  EXPECT_EQ(tiny(true)->encode("abc abc", true), (Ids{259, 258, ' ', 'a', 256}));
  EXPECT_EQ(tiny(true)->decode({259, 258, ' ', 'a', 256}), "<s>abc abc");
  EXPECT_EQ(tiny(true)->bos_id(), 259);
  EXPECT_EQ(tiny(true)->eos_id(), -1);
}

void expect_error(nlohmann::json j, const std::string& fragment) {
  try {
    load_byte_bpe_tokenizer(j, "bad/tokenizer.json");
    ADD_FAILURE() << "no error for " << fragment;
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("bad/tokenizer.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
  }
}

TEST(ByteBpe, UnsupportedFilesAreClearErrors) {
  auto j = tiny_json(true);
  j["model"]["type"] = "Unigram";
  expect_error(j, "Unigram");
  j = tiny_json(true);
  j["normalizer"] = {{"type", "NFC"}};
  expect_error(j, "normalizer NFC");
  j = tiny_json(true);
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "\\w+";
  expect_error(j, "split pattern");
  j = tiny_json(true);
  j["pre_tokenizer"] = {{"type", "Metaspace"}};
  expect_error(j, "pre_tokenizer Metaspace");
  j = tiny_json(true);
  j["model"]["vocab"]["zz"] = j["model"]["vocab"]["a"];  // same size, so the ids still follow
  j["model"]["vocab"].erase("a");
  expect_error(j, "byte-level symbol for byte 97");
  j = tiny_json(true);
  j["added_tokens"][0]["id"] = 300;
  expect_error(j, "\"<s>\" has id 300 but the tokenizers library gives it 259");
  j = tiny_json(true);
  j["model"]["merges"] = {"a x"};
  expect_error(j, "merge 1");
  j = tiny_json(true);
  j["model"]["byte_fallback"] = true;
  expect_error(j, "byte_fallback");
  j = tiny_json(true);
  j["post_processor"] = {{"type", "RobertaProcessing"}};
  expect_error(j, "RobertaProcessing");
  j = tiny_json(true);
  j["pre_tokenizer"]["pretokenizers"][0] = 5;  // wrong JSON type deep inside
  expect_error(j, "pre_tokenizer");
  expect_error(nlohmann::json::array(), "not a JSON object");
}

}  // namespace
}  // namespace lavender::text
