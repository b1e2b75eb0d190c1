// The SentencePiece-style BPE of tokenizer.json (LLaVA-1.5's Llama 2 tokenizer as llava-hf ships
// it) against ids from the Hugging Face tokenizers library, and each feature of the format on
// small hand-made files. The comparison with the official library over a large corpus is
// hf_tokenizers_reference_test.cpp.
#include "lavender/text/sp_bpe.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "lavender/io/json_file.h"
#include "lavender/text/tokenizer.h"
#include "lavender/util/error.h"
#include "test_jsonl.h"
#include "test_paths.h"

namespace lavender::text {
namespace {

using Ids = std::vector<int64_t>;
using nlohmann::json;
namespace fs = std::filesystem;

std::string llama2_dir() {
  return test::shared_dir() + "/data/llama2";
}

const Tokenizer& llama2() {
  static const auto tok = load_tokenizer(llama2_dir());
  return *tok;
}

TEST(SpBpe, LlavaFolderLoadsTheFastTokenizer) {
  EXPECT_EQ(llama2().kind(), "sentencepiece-bpe");
  EXPECT_EQ(llama2().vocab_size(), 32002u);
  EXPECT_EQ(llama2().bos_id(), 1);
  EXPECT_EQ(llama2().eos_id(), 2);
  EXPECT_EQ(llama2().token_to_id("<image>"), 32000);
  EXPECT_EQ(llama2().token_to_id("<pad>"), 32001);
  EXPECT_EQ(llama2().id_to_token(3148), "\xE2\x96\x81US");  // "▁US"
}

TEST(SpBpe, MatchesTheHuggingFaceLibrarysIds) {
  const auto rows =
      test::read_jsonl(test::shared_dir() + "/data/tokenizer-samples/llama2_expected.jsonl");
  ASSERT_EQ(rows.size(), 40u);
  for (const auto& row : rows) {
    const std::string text = row["text"].get<std::string>();
    EXPECT_EQ(llama2().encode(text, true), row["ids"].get<Ids>()) << json(text);
  }
}

TEST(SpBpe, DecodesAsTheDecoderChainSays) {
  // Replace "▁" -> " ", ByteFallback, Fuse, Strip one leading space; specials written as text.
  EXPECT_EQ(llama2().decode({1, 29871, 32000, 29871, 13}), "<s> <image> \n");
  EXPECT_EQ(llama2().decode({3148, 32000, 3148}), "US<image> US");
  EXPECT_EQ(llama2().decode({29871, 3148}), " US");
  EXPECT_EQ(llama2().decode({243, 162}), "\xEF\xBF\xBD\xEF\xBF\xBD");  // half an emoji
  const auto& sp = dynamic_cast<const SpBpeTokenizer&>(llama2());
  EXPECT_EQ(sp.decode({1, 29871, 32000, 29871, 13}, true), " \n");
  const std::string text = "Ünïcödé 🦙 and\ttabs  ";
  EXPECT_EQ(llama2().decode(llama2().encode(text, false)), text);
  EXPECT_THROW(llama2().decode({40000}), Error);
}

// A small SentencePiece-style file: characters a, b, c, "▁", merges ab, "▁a", abc.
json tiny_tokenizer() {
  json vocab = {{"<unk>", 0},
                {"<s>", 1},
                {"</s>", 2},
                {"\xE2\x96\x81", 3},
                {"a", 4},
                {"b", 5},
                {"c", 6},
                {"ab", 7},
                {"\xE2\x96\x81"
                 "a",
                 8},
                {"abc", 9}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    vocab[name] = 10 + b;
  }
  return {
      {"model",
       {{"type", "BPE"},
        {"vocab", vocab},
        {"merges", {"a b", "\xE2\x96\x81 a", "ab c"}},
        {"byte_fallback", true},
        {"unk_token", "<unk>"},
        {"fuse_unk", true}}},
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers",
         {{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}}}}},
      {"pre_tokenizer", nullptr},
      {"added_tokens",
       {{{"id", 1}, {"content", "<s>"}, {"special", true}},
        {{"id", 2}, {"content", "</s>"}, {"special", true}}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", {{{"SpecialToken", {{"id", "<s>"}}}}, {{"Sequence", {{"id", "A"}}}}}},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}}}}}}},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders",
         {{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
          {{"type", "ByteFallback"}},
          {{"type", "Fuse"}},
          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
  };
}

std::unique_ptr<SpBpeTokenizer> load_sp(const json& j, const test::TempDir& dir) {
  test::write_file(dir.file("tokenizer.json"), j.dump());
  auto tok = load_tokenizer(dir.path());
  auto* sp = dynamic_cast<SpBpeTokenizer*>(tok.get());
  if (sp == nullptr) throw Error("not a SentencePiece-style BPE: " + tok->kind());
  tok.release();
  return std::unique_ptr<SpBpeTokenizer>(sp);
}

std::string sp_error_of(const json& j) {
  test::TempDir dir;
  try {
    load_sp(j, dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(SpBpe, MergesByRankThenLeftmost) {
  test::TempDir dir;
  const auto tok = load_sp(tiny_tokenizer(), dir);
  // "▁abc": "a b" (rank 0) before "▁ a" (rank 1): ▁, ab, c -> ▁, abc.
  EXPECT_EQ(tok->encode("abc", false), (Ids{3, 9}));
  EXPECT_EQ(tok->encode("abc", true), (Ids{1, 3, 9}));
  // "▁a▁a": no "a b" pair, so both "▁ a" merge.
  EXPECT_EQ(tok->encode("a a", false), (Ids{8, 8}));
  // x is not in the vocabulary: its byte; é: two bytes.
  EXPECT_EQ(tok->encode("x", false), (Ids{3, 10 + 'x'}));
  EXPECT_EQ(tok->encode("\xC3\xA9", false), (Ids{3, 10 + 0xC3, 10 + 0xA9}));
  EXPECT_EQ(tok->decode(tok->encode("ab x\xC3\xA9", false)), "ab x\xC3\xA9");
}

TEST(SpBpe, UnknownCharactersWithoutByteFallbackAreFusedUnk) {
  json j = tiny_tokenizer();
  j["model"]["byte_fallback"] = false;
  test::TempDir dir;
  const auto tok = load_sp(j, dir);
  EXPECT_EQ(tok->encode("xyz", false), (Ids{3, 0}));
  j["model"]["fuse_unk"] = false;
  test::TempDir dir2;
  EXPECT_EQ(load_sp(j, dir2)->encode("xyz", false), (Ids{3, 0, 0, 0}));
}

TEST(SpBpe, MetaspacePrependSchemes) {
  json j = tiny_tokenizer();
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {{"type", "Metaspace"},
                        {"replacement", "\xE2\x96\x81"},
                        {"prepend_scheme", "first"},
                        {"split", false}};
  {
    test::TempDir dir;
    const auto tok = load_sp(j, dir);
    // "first": only the run that starts the text gets "▁".
    EXPECT_EQ(tok->encode("a</s>a", false), (Ids{8, 2, 4}));
  }
  j["pre_tokenizer"]["prepend_scheme"] = "always";
  {
    test::TempDir dir;
    EXPECT_EQ(load_sp(j, dir)->encode("a</s>a", false), (Ids{8, 2, 8}));
  }
  j["pre_tokenizer"]["prepend_scheme"] = "never";
  {
    test::TempDir dir;
    EXPECT_EQ(load_sp(j, dir)->encode("a</s>a", false), (Ids{4, 2, 4}));
  }
  j["pre_tokenizer"]["prepend_scheme"] = "sometimes";
  EXPECT_NE(sp_error_of(j).find("prepend_scheme \"sometimes\""), std::string::npos);
}

TEST(SpBpe, AddedTokenFlags) {
  json j = tiny_tokenizer();
  // Matched in the raw text (normalized: false), where the spaces still are.
  j["added_tokens"].push_back(
      {{"id", 266}, {"content", "<L>"}, {"lstrip", true}, {"normalized", false}});
  j["added_tokens"].push_back(
      {{"id", 267}, {"content", "<R>"}, {"rstrip", true}, {"normalized", false}});
  j["added_tokens"].push_back(
      {{"id", 268}, {"content", "cab"}, {"single_word", true}, {"normalized", false}});
  test::TempDir dir;
  const auto tok = load_sp(j, dir);
  // lstrip swallows the spaces before, rstrip those after.
  EXPECT_EQ(tok->encode("a  <L>", false), (Ids{8, 266}));
  EXPECT_EQ(tok->encode("<R>  a", false), (Ids{267, 8}));
  // single_word: "cab" inside "acab" is not a word of its own. (Ids from the tokenizers
  // library on the same file.)
  EXPECT_EQ(tok->encode("c cab", false), (Ids{3, 6, 3, 268}));
  EXPECT_EQ(tok->encode("acab", false), (Ids{8, 6, 7}));
  // An added token out of the library's numbering is refused.
  j["added_tokens"].push_back({{"id", 300}, {"content", "<gap>"}});
  EXPECT_NE(sp_error_of(j).find("\"<gap>\" has id 300 but the tokenizers library gives it 269"),
            std::string::npos)
      << sp_error_of(j);
}

TEST(SpBpe, TokenizerConfigAddsTokensAndOverridesBosEos) {
  test::TempDir dir;
  test::write_file(dir.file("tokenizer_config.json"),
                   R"({"add_bos_token": false, "add_eos_token": true,
                       "added_tokens_decoder": {"266": {"content": "<image>", "special": true}}})");
  test::write_file(dir.file("added_tokens.json"), R"({"<pad>": 267})");
  const auto tok = load_sp(tiny_tokenizer(), dir);
  EXPECT_EQ(tok->encode("a<image><pad>", true), (Ids{8, 266, 267, 2}));
  EXPECT_EQ(tok->vocab_size(), 268u);
  // One content under two ids is refused, naming both files.
  test::write_file(dir.file("added_tokens.json"), R"({"<image>": 267})");
  try {
    load_sp(tiny_tokenizer(), dir);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("added_tokens.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("contradicts"), std::string::npos) << e.what();
  }
}

TEST(SpBpe, NormalizersInOrder) {
  json j = tiny_tokenizer();
  j["normalizer"] = {{"type", "Sequence"},
                     {"normalizers",
                      {{{"type", "NFKC"}},
                       {{"type", "Lowercase"}},
                       {{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}},
                       {{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}}}}};
  test::TempDir dir;
  const auto tok = load_sp(j, dir);
  // Full-width "ＡＢ" -> NFKC "AB" -> "ab"; spaces stripped; "▁" prepended.
  EXPECT_EQ(tok->encode("  \xEF\xBC\xA1\xEF\xBC\xA2 ", false), (Ids{3, 7}));
}

TEST(SpBpe, UnsupportedPartsAreNamed) {
  json j = tiny_tokenizer();
  j["normalizer"] = {{"type", "Precompiled"}, {"precompiled_charsmap", "AAAA"}};
  EXPECT_NE(sp_error_of(j).find("normalizer Precompiled is not supported"), std::string::npos)
      << sp_error_of(j);
  j = tiny_tokenizer();
  j["normalizer"]["normalizers"][1]["pattern"] = {{"Regex", " +"}};
  EXPECT_NE(sp_error_of(j).find("literal"), std::string::npos) << sp_error_of(j);
  j = tiny_tokenizer();
  j["decoder"] = {{"type", "WordPiece"}};
  EXPECT_NE(sp_error_of(j).find("decoder WordPiece is not supported"), std::string::npos);
  j = tiny_tokenizer();
  j["pre_tokenizer"] = {{"type", "Whitespace"}};
  EXPECT_NE(sp_error_of(j).find("pre_tokenizer Whitespace"), std::string::npos);
  j = tiny_tokenizer();
  j["model"]["merges"].push_back("a zz");
  EXPECT_NE(sp_error_of(j).find("merge 4 \"a zz\""), std::string::npos);
  j = tiny_tokenizer();
  j["model"]["unk_token"] = "<nope>";
  EXPECT_NE(sp_error_of(j).find("unk_token \"<nope>\""), std::string::npos);
}

TEST(SpBpe, InvalidUtf8BecomesReplacementCharacters) {
  const Ids ids = llama2().encode(std::string("a\xFF"
                                              "b"),
                                  false);
  EXPECT_EQ(llama2().decode(ids),
            "a\xEF\xBF\xBD"
            "b");
}

}  // namespace
}  // namespace lavender::text
