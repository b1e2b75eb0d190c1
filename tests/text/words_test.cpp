#include "lavender/text/words.h"

#include <gtest/gtest.h>

#include "lavender/text/chat_template.h"
#include "test_paths.h"

namespace lavender::text {
namespace {

const Tokenizer& llama3() {
  static auto tokenizer = load_tokenizer(test::shared_dir() + "/data/llama3/tokenizer.json");
  return *tokenizer;
}

TEST(Words, SurfacesGroupIntoLowerCasedWords) {
  auto seg = segment_words({" The", " cat", "'s", " don", "'t", ",", " ü", "ber", " 42", "!"},
                           {false, false, false, false, false, false, false, false, false, true});
  EXPECT_EQ(seg.words, (std::vector<std::string>{"the", "cat's", "don't",
                                                 "\xC3\xBC"
                                                 "ber",
                                                 "42"}));
  EXPECT_EQ(seg.word_of_token, (std::vector<int>{0, 1, 1, 2, 2, -1, 3, 3, 4, -1}));
}

TEST(Words, SkippedTokensEndWords) {
  auto seg = segment_words({"red", "<image>", "dish"}, {false, true, false});
  EXPECT_EQ(seg.words, (std::vector<std::string>{"red", "dish"}));
  EXPECT_EQ(seg.word_of_token, (std::vector<int>{0, -1, 1}));
}

TEST(Words, Llama3TokensMapToTheirWords) {
  const auto& tok = llama3();
  auto ids = tok.encode("<|begin_of_text|>A red-circle, don't stop!", false);
  auto seg = segment_words(tok, ids);
  EXPECT_EQ(seg.words, (std::vector<std::string>{"a", "red", "circle", "don't", "stop"}));
  EXPECT_EQ(seg.word_of_token.front(), -1);  // the BOS special token
  // Every word's tokens decode to the word (case and spaces aside).
  for (size_t w = 0; w < seg.words.size(); ++w) {
    std::vector<int64_t> mine;
    for (size_t t = 0; t < ids.size(); ++t)
      if (seg.word_of_token[t] == static_cast<int>(w)) mine.push_back(ids[t]);
    std::string text = tok.decode(mine);
    EXPECT_NE(text.find(seg.words[w].substr(1)), std::string::npos)
        << seg.words[w] << " / " << text;
  }
}

TEST(Words, ChatLabelsCoverExactlyTheReplies) {
  const auto& tok = llama3();
  auto segs = render_chat(ChatFormat::llama3_vision,
                          {{"user", "What is this?", 1},
                           {"assistant", "A red circle.", 0},
                           {"user", "Colour?", 0},
                           {"assistant", "Red.", 0}},
                          false);
  auto chat = tokenize_chat(tok, segs, /*add_special=*/false);
  EXPECT_EQ(chat.ids, tok.encode(chat_text(segs), false));
  std::vector<int64_t> learned;
  for (size_t t = 0; t < chat.ids.size(); ++t)
    if (chat.labels[t] != kIgnoreLabel) {
      EXPECT_EQ(chat.labels[t], chat.ids[t]);
      learned.push_back(chat.ids[t]);
    }
  EXPECT_EQ(tok.decode(learned), "A red circle.<|eot_id|>Red.<|eot_id|>");
}

}  // namespace
}  // namespace lavender::text
