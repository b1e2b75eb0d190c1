#include "lavender/text/sentencepiece_tokenizer.h"

#include <gtest/gtest.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::text {
namespace {

using Ids = std::vector<int64_t>;

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

// A tiny model trained here with Llama 2's settings (BPE, byte fallback, split digits, identity
// normalisation, dummy prefix, unk/bos/eos = 0/1/2): there is no real tokenizer.model to test
// against, and training takes well under a second.
class SentencePieceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir();
    std::string corpus;
    const char* words[] = {"red",   "green", "blue",   "circle", "square", "triangle", "above",
                           "below", "left",  "right",  "of",     "the",    "a",        "is",
                           "what",  "shape", "colour", "image",  "next",   "to"};
    for (int i = 0; i < 3000; ++i) {
      for (int k = 0; k < 8; ++k) corpus += std::string(k ? " " : "") + words[(i * 7 + k * 13 + i / 5) % 20];
      corpus += " " + std::to_string(i) + ".\n";
    }
    write_file(dir_->file("corpus.txt"), corpus);
    const auto status = sentencepiece::SentencePieceTrainer::Train(
        "--input=" + dir_->file("corpus.txt") + " --model_prefix=" + dir_->file("tokenizer") +
        " --model_type=bpe --vocab_size=320 --byte_fallback=true --split_digits=true"
        " --normalization_rule_name=identity --add_dummy_prefix=true"
        " --remove_extra_whitespaces=false --allow_whitespace_only_pieces=true"
        " --character_coverage=1.0 --unk_id=0 --bos_id=1 --eos_id=2 --pad_id=-1"
        " --num_threads=1 --minloglevel=2");
    ASSERT_TRUE(status.ok()) << status.ToString();
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string model_path() { return dir_->file("tokenizer.model"); }
  static test::TempDir* dir_;
};

test::TempDir* SentencePieceTest::dir_ = nullptr;

TEST_F(SentencePieceTest, RoundTripsAndLlama2Conventions) {
  const auto tok = load_sentencepiece_tokenizer(model_path());
  EXPECT_EQ(tok->kind(), "sentencepiece");
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->vocab_size(), 320u);
  for (const std::string text : {"the red circle is above the blue square",
                                 "  two leading spaces and trailing  ", "What shape? 42!",
                                 "Ωmega 🙂 unseen characters", ""}) {
    EXPECT_EQ(tok->decode(tok->encode(text, false)), text) << text;
  }
  const Ids ids = tok->encode("red circle", true);
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids[0], 1);  // BOS first, no EOS
  EXPECT_NE(ids.back(), 2);
  EXPECT_EQ(tok->id_to_token(ids[1]).rfind("\xE2\x96\x81", 0), 0u);  // dummy prefix "▁"
  EXPECT_EQ(tok->decode(ids), "<s>red circle");
  EXPECT_EQ(tok->token_to_id("<s>"), 1);
  EXPECT_EQ(tok->token_to_id("no such piece"), -1);
}

TEST_F(SentencePieceTest, ByteFallbackAndDigits) {
  const auto tok = load_sentencepiece_tokenizer(model_path());
  // "Ω" (U+03A9) never occurs in training: its two UTF-8 bytes become byte pieces.
  const Ids omega = tok->encode("Ω", false);
  std::vector<std::string> pieces;
  for (int64_t id : omega) pieces.push_back(tok->id_to_token(id));
  EXPECT_EQ(pieces, (std::vector<std::string>{"\xE2\x96\x81", "<0xCE>", "<0xA9>"}));
  // split_digits: every digit is its own piece.
  const Ids digits = tok->encode("2024", false);
  EXPECT_EQ(tok->decode(digits), "2024");
  EXPECT_GE(digits.size(), 4u);
}

TEST_F(SentencePieceTest, AddedTokensAndConfigFromFolder) {
  test::TempDir folder;
  std::filesystem::copy_file(model_path(), folder.file("tokenizer.model"));
  write_file(folder.file("added_tokens.json"), R"({"<image>": 320})");
  write_file(folder.file("tokenizer_config.json"), R"({"add_bos_token": true, "add_eos_token": true})");
  const auto tok = load_sentencepiece_tokenizer(folder.file("tokenizer.model"));
  EXPECT_EQ(tok->vocab_size(), 321u);
  const Ids ids = tok->encode("USER: <image>\nwhat</s>", true);
  ASSERT_GE(ids.size(), 4u);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(ids.back(), 2);  // add_eos_token
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 320), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 2), 2);  // "</s>" in the text, then EOS
  EXPECT_EQ(tok->decode(ids), "<s>USER: <image>\nwhat</s></s>");
}

TEST_F(SentencePieceTest, NotAModelIsAClearError) {
  test::TempDir folder;
  write_file(folder.file("tokenizer.model"), "not a protobuf");
  try {
    load_sentencepiece_tokenizer(folder.file("tokenizer.model"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer.model: not a SentencePiece model"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lavender::text
