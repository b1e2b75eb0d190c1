#include "lavender/text/bpe_trainer.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "lavender/text/clip_tokenizer.h"
#include "test_paths.h"

namespace lavender::text {
namespace {

std::vector<BpeWord> words_of(const std::vector<std::pair<std::string, int64_t>>& counts) {
  std::vector<BpeWord> out;
  for (const auto& [w, c] : counts) {
    BpeWord b;
    for (char ch : w) b.symbols.emplace_back(1, ch);
    b.count = c;
    out.push_back(b);
  }
  return out;
}

TEST(BpeTrainer, MergesTheMostFrequentPairFirst) {
  // "es" (6 + 3 = 9) beats "lo"/"ow" (5 + 2 = 7), then "est" (9), then "lo", "low".
  auto merges =
      learn_bpe_merges(words_of({{"low", 5}, {"lower", 2}, {"newest", 6}, {"widest", 3}}), {4, 1});
  const BpeMerges expected = {{"e", "s"}, {"es", "t"}, {"l", "o"}, {"lo", "w"}};
  EXPECT_EQ(merges, expected);
}

TEST(BpeTrainer, UnlimitedMergesMakeEveryWordOneSymbolWhateverTheOrder) {
  auto counts = std::vector<std::pair<std::string, int64_t>>{
      {"red", 3}, {"green", 2}, {"circle", 1}, {"square", 4}, {"aa", 1}};
  auto merges = learn_bpe_merges(words_of(counts));
  std::reverse(counts.begin(), counts.end());
  EXPECT_EQ(learn_bpe_merges(words_of(counts)), merges);  // ties broken by the pair, not order
  for (auto w : words_of(counts)) {
    for (const auto& m : merges) {
      std::vector<std::string> next;
      for (size_t i = 0; i < w.symbols.size(); ++i)
        if (i + 1 < w.symbols.size() && w.symbols[i] == m.first && w.symbols[i + 1] == m.second) {
          next.push_back(m.first + m.second);
          ++i;
        } else {
          next.push_back(w.symbols[i]);
        }
      w.symbols = next;
    }
    EXPECT_EQ(w.symbols.size(), 1u);
  }
}

TEST(BpeTrainer, MinCountAndMaxMergesStopEarly) {
  auto w = words_of({{"ab", 1}, {"cd", 3}});
  EXPECT_EQ(learn_bpe_merges(w, {-1, 2}).size(), 1u);  // only "cd" occurs twice or more
  EXPECT_EQ(learn_bpe_merges(w, {0, 1}).size(), 0u);
  EXPECT_TRUE(learn_bpe_merges({}).empty());
}

TEST(BpeTrainer, ClipTokenizerReadsCorpusWordsAsSingleTokens) {
  const std::vector<std::string> texts = {"A large red circle above a small blue square.",
                                          "two green stars, one ring"};
  auto counts = clip_word_counts(texts);
  EXPECT_EQ(counts.at("a"), 2);
  EXPECT_EQ(counts.at("."), 1);  // CLIP's split keeps punctuation as its own word
  EXPECT_EQ(counts.count("A"), 0u);
  test::TempDir dir;
  auto vocab = train_clip_bpe(counts);
  EXPECT_EQ(vocab.tokens.front(), byte_alphabet().front());
  EXPECT_EQ(vocab.tokens[vocab.tokens.size() - 2], "<|startoftext|>");
  EXPECT_EQ(vocab.tokens.back(), "<|endoftext|>");
  write_clip_tokenizer(dir.path(), vocab);
  auto tok = load_clip_tokenizer(dir.path());
  EXPECT_EQ(tok->vocab_size(), vocab.tokens.size());
  for (const auto& [word, count] : counts) {
    auto ids = tok->encode(word);
    ASSERT_EQ(ids.size(), 1u) << word;
    EXPECT_EQ(tok->token(ids[0]), word + "</w>");
  }
  auto enc = tok->encode_for_model("a large red circle", 8);
  EXPECT_EQ(enc.ids.front(), tok->bos_id());
  EXPECT_EQ(enc.ids[5], tok->eos_id());
  EXPECT_EQ(enc.words, (std::vector<std::string>{"a", "large", "red", "circle"}));
  // An unknown word still tokenises (into smaller pieces) and decodes back.
  auto zebra = tok->encode("zebra squares");
  EXPECT_GT(zebra.size(), 2u);
  EXPECT_EQ(tok->decode(zebra), "zebra squares");
}

}  // namespace
}  // namespace lavender::text
