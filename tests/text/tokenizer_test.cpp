#include "lavender/text/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "lavender/text/sentencepiece_library.h"
#include "lavender/util/error.h"
#include "test_paths.h"

namespace lavender::text {
namespace {

using Ids = std::vector<int64_t>;
namespace fs = std::filesystem;

std::string data(const std::string& rel) {
  return test::shared_dir() + "/data/" + rel;
}

std::string tokenizer_load_error(const std::string& path) {
  try {
    load_tokenizer(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(LoadTokenizer, PicksTheKindFromTheFiles) {
  const auto llama = load_tokenizer(data("llama3/tokenizer.json"));
  EXPECT_EQ(llama->kind(), "byte-bpe");
  EXPECT_EQ(llama->encode("Hello world", true), (Ids{128000, 9906, 1917}));
  EXPECT_EQ(llama->decode({128000, 9906, 1917}), "<|begin_of_text|>Hello world");
  EXPECT_EQ(llama->id_to_token(1917), "\xC4\xA0world");  // "Ġworld"
  EXPECT_EQ(llama->token_to_id("\xC4\xA0world"), 1917);
  EXPECT_EQ(llama->token_to_id("no such token"), -1);

  const auto clip = load_tokenizer(data("clip/bpe_simple_vocab_16e6.txt.gz"));
  EXPECT_EQ(clip->kind(), "clip");
  EXPECT_EQ(clip->vocab_size(), 49408u);
  const Ids ids = clip->encode("a photo", true);
  EXPECT_EQ(ids.front(), clip->bos_id());
  EXPECT_EQ(ids.back(), clip->eos_id());
  EXPECT_EQ(clip->encode("a photo", false), Ids(ids.begin() + 1, ids.end() - 1));
  EXPECT_EQ(clip->decode(clip->encode("a photo", false)), "a photo");
}

TEST(LoadTokenizer, FoldersAndSubFolders) {
  test::TempDir dir;
  fs::create_directory(dir.file("tokenizer"));
  fs::copy_file(data("clip/bpe_simple_vocab_16e6.txt.gz"),
                dir.file("tokenizer/bpe_simple_vocab_16e6.txt.gz"));
  EXPECT_EQ(load_tokenizer(dir.path())->kind(), "clip");  // a diffusers pipeline

  test::TempDir sp;
  std::ofstream(sp.file("tokenizer.model")) << "garbage";
  // Either it is read and rejected, or (sanitizer builds) SentencePiece is unavailable.
  const std::string expected = sentencepiece_unavailable_reason().empty()
                                   ? "tokenizer.model: not a SentencePiece model"
                                   : "tokenizer.model: cannot read SentencePiece models";
  EXPECT_NE(tokenizer_load_error(sp.path()).find(expected), std::string::npos)
      << tokenizer_load_error(sp.path());
}

TEST(LoadTokenizer, ClearErrors) {
  EXPECT_NE(tokenizer_load_error("/no/such/path").find("/no/such/path: no such file"),
            std::string::npos);
  test::TempDir empty;
  EXPECT_NE(tokenizer_load_error(empty.path()).find("no tokenizer here"), std::string::npos);
  std::ofstream(empty.file("notes.txt")) << "x";
  EXPECT_NE(tokenizer_load_error(empty.file("notes.txt")).find("not a tokenizer file"),
            std::string::npos);
  std::ofstream(empty.file("tokenizer.json")) << R"({"model": {"type": "WordPiece"}})";
  EXPECT_NE(tokenizer_load_error(empty.file("tokenizer.json")).find("model type \"WordPiece\""),
            std::string::npos)
      << tokenizer_load_error(empty.file("tokenizer.json"));
}

}  // namespace
}  // namespace lavender::text
