#include "lavender/text/sentencepiece_tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::text {
namespace {

using Ids = std::vector<int64_t>;

using test::write_file;

// A tiny model with Llama 2's settings (BPE, byte fallback, split digits, identity
// normalisation, dummy prefix, unk/bos/eos = 0/1/2); tests/text/data/README.md says how it was
// made.
class SentencePieceTest : public ::testing::Test {
 protected:
  // SentencePiece lives in a dlopen'ed plugin (Debian's libsentencepiece bundles a protobuf that
  // crashes LibTorch programs when linked). Where the plugin cannot load — AddressSanitizer
  // builds, which refuse the RTLD_DEEPBIND it needs, or a build without the plugin — users get
  // the same clear error these tests would, so they skip with it; the Release CI stage runs them.
  void SetUp() override {
    const std::string reason = sentencepiece_unavailable_reason();
    if (!reason.empty())
      GTEST_SKIP() << "SentencePiece plugin unavailable in this build (" << reason
                   << "); the Release build runs these tests";
  }
  static std::string model_path() {
    return std::string(LAVENDER_SOURCE_DIR) + "/tests/text/data/llama2_style.model";
  }
};

TEST_F(SentencePieceTest, RoundTripsAndLlama2Conventions) {
  const auto tok = load_sentencepiece_tokenizer(model_path());
  EXPECT_EQ(tok->kind(), "sentencepiece");
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->vocab_size(), 320u);
  for (const std::string text :
       {"the red circle is above the blue square", "  two leading spaces and trailing  ",
        "What shape? 42!", "Ωmega 🙂 unseen characters", ""}) {
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
  write_file(folder.file("tokenizer_config.json"),
             R"({"add_bos_token": true, "add_eos_token": true})");
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

TEST_F(SentencePieceTest, NotAModelIsAClearError) {  // (unavailable: skipped by SetUp)
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
