#include "lavender/text/clip_tokenizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lavender/text/gzip_file.h"
#include "lavender/text/unicode.h"
#include "lavender/util/error.h"
#include "test_jsonl.h"
#include "test_paths.h"

namespace lavender::text {
namespace {

using Ids = std::vector<int64_t>;

std::string gz_path() {
  return test::shared_dir() + "/data/clip/bpe_simple_vocab_16e6.txt.gz";
}

// Loading builds 49k-entry tables; share one tokenizer across tests.
const ClipTokenizer& clip() {
  static const std::unique_ptr<ClipTokenizer> tok = load_clip_tokenizer(gz_path());
  return *tok;
}

using test::write_file;

using test::read_jsonl;

std::vector<std::string> sample_texts() {
  std::vector<std::string> texts;
  for (const auto& row : read_jsonl(test::shared_dir() + "/data/tokenizer-samples/corpus.jsonl"))
    texts.push_back(row.get<std::string>());
  texts.insert(texts.end(), {"a photograph of an astronaut riding a horse", "", "!!!",
                             "<|startoftext|>hi<|endoftext|>", "Ünïcödé ΟΔΟΣ İstanbul"});
  return texts;
}

// The merges HF's CLIP files hold: the .gz's lines 1..48894.
std::vector<std::string> openai_merges() {
  std::istringstream in(read_gzip_file(gz_path()));
  std::vector<std::string> merges;
  std::string line;
  std::getline(in, line);  // header
  while (merges.size() < 49152 - 256 - 2 && std::getline(in, line)) merges.push_back(line);
  return merges;
}

// vocab.json as HF derived it: OpenAI's encoder, token -> id.
nlohmann::json vocab_json(bool with_specials) {
  nlohmann::json vocab = nlohmann::json::object();
  for (size_t id = 0; id < clip().vocab_size(); ++id) {
    const std::string& t = clip().token(static_cast<int64_t>(id));
    if (with_specials || (t != "<|startoftext|>" && t != "<|endoftext|>")) vocab[t] = id;
  }
  return vocab;
}

void write_hf_slow(const std::string& dir) {
  write_file(dir + "/vocab.json", vocab_json(true).dump());
  std::string merges = "#version: 0.2\n";
  for (const auto& m : openai_merges()) merges += m + "\n";
  write_file(dir + "/merges.txt", merges);
}

// tokenizer.json as CLIPTokenizerFast saves it; specials only as added tokens.
void write_hf_fast(const std::string& path, bool pair_merges) {
  nlohmann::json merges = nlohmann::json::array();
  for (const auto& m : openai_merges()) {
    const size_t space = m.find(' ');
    if (pair_merges)
      merges.push_back({m.substr(0, space), m.substr(space + 1)});
    else
      merges.push_back(m);
  }
  nlohmann::json j = {{"version", "1.0"},
                      {"added_tokens",
                       {{{"id", 49406}, {"content", "<|startoftext|>"}, {"special", true}},
                        {{"id", 49407}, {"content", "<|endoftext|>"}, {"special", true}}}},
                      {"model",
                       {{"type", "BPE"},
                        {"unk_token", "<|endoftext|>"},
                        {"continuing_subword_prefix", ""},
                        {"end_of_word_suffix", "</w>"},
                        {"vocab", vocab_json(false)},
                        {"merges", merges}}}};
  write_file(path, j.dump());
}

TEST(ClipTokenizer, MatchesReferenceIds) {
  const auto rows = read_jsonl(test::shared_dir() + "/data/tokenizer-samples/clip_expected.jsonl");
  ASSERT_EQ(rows.size(), 12u);
  for (const auto& row : rows)
    EXPECT_EQ(clip().encode(row["text"].get<std::string>()), row["ids"].get<Ids>()) << row["text"];
}

TEST(ClipTokenizer, VocabularyLayoutFollowsSimpleTokenizer) {
  EXPECT_EQ(clip().vocab_size(), 49408u);
  EXPECT_EQ(clip().bos_id(), 49406);
  EXPECT_EQ(clip().eos_id(), 49407);
  EXPECT_EQ(clip().pad_id(), 49407);
  EXPECT_EQ(clip().token(0), "!");
  EXPECT_EQ(clip().token(256), "!</w>");
  EXPECT_EQ(clip().token(320), "a</w>");
  EXPECT_EQ(clip().token(49406), "<|startoftext|>");
  EXPECT_EQ(clip().token_id("photo</w>"), clip().encode("photo")[0]);
  EXPECT_EQ(clip().token_id("no such token"), -1);
  EXPECT_THROW(clip().token(49408), Error);
  EXPECT_EQ(byte_alphabet()[' '], "\xC4\xA0");  // GPT-2's "Ġ"
}

TEST(ClipTokenizer, HuggingFaceFormatsGiveIdenticalIds) {
  test::TempDir slow, fast, pairs, pipeline;
  write_hf_slow(slow.path());
  write_hf_fast(fast.file("tokenizer.json"), false);
  write_hf_fast(pairs.file("tokenizer.json"), true);
  std::filesystem::create_directory(pipeline.file("tokenizer"));
  write_hf_slow(pipeline.file("tokenizer"));
  const auto from_slow = load_clip_tokenizer(slow.path());
  const auto from_fast = load_clip_tokenizer(fast.path());
  const auto from_pairs = load_clip_tokenizer(pairs.file("tokenizer.json"));
  const auto from_pipeline = load_clip_tokenizer(pipeline.path());
  const auto from_merges_file = load_clip_tokenizer(slow.file("merges.txt"));
  for (const auto* tok : {from_slow.get(), from_fast.get(), from_pairs.get(), from_pipeline.get(),
                          from_merges_file.get()}) {
    EXPECT_EQ(tok->vocab_size(), 49408u);
    EXPECT_EQ(tok->bos_id(), 49406);
    EXPECT_EQ(tok->pad_id(), 49407);
    for (const auto& text : sample_texts())
      EXPECT_EQ(tok->encode(text), clip().encode(text)) << text;
  }
}

TEST(ClipTokenizer, PadTokenComesFromTheFolderConfig) {
  test::TempDir sd2, sd2_map;
  write_hf_slow(sd2.path());
  write_file(sd2.file("tokenizer_config.json"), R"({"pad_token": "!", "model_max_length": 77})");
  EXPECT_EQ(load_clip_tokenizer(sd2.path())->pad_id(), 0);
  write_hf_slow(sd2_map.path());
  write_file(sd2_map.file("special_tokens_map.json"),
             R"({"pad_token": {"content": "!", "lstrip": false}})");
  const auto tok = load_clip_tokenizer(sd2_map.path());
  ASSERT_EQ(tok->pad_id(), 0);
  const auto enc = tok->encode_for_model("a dog!");  // "!" in the text is still a word
  EXPECT_EQ(enc.ids[3], 256);                        // "!</w>"
  EXPECT_EQ(enc.word_of_token[3], 2);
  EXPECT_EQ(enc.ids[4], 49407);
  EXPECT_EQ(enc.ids[5], 0);
  EXPECT_EQ(enc.word_of_token[5], -1);
}

TEST(ClipTokenizer, SpecialTokens) {
  EXPECT_EQ(clip().encode("<|startoftext|>a<|endoftext|>"), (Ids{49406, 320, 49407}));
  EXPECT_EQ(clip().encode("<|ENDOFTEXT|>"), (Ids{49407}));  // lower-cased first, as OpenAI's
  const auto enc = clip().encode_for_model("a photo", 0);
  EXPECT_EQ(enc.ids, (Ids{49406, 320, clip().token_id("photo</w>"), 49407}));
  EXPECT_EQ(enc.word_of_token, (std::vector<int>{-1, 0, 1, -1}));
  EXPECT_EQ(clip().decode({49406, 320, 49407}), "<|startoftext|>a <|endoftext|>");
}

TEST(ClipTokenizer, TruncatesAndPadsTo77) {
  const auto short_enc = clip().encode_for_model("a photo of a cat");
  ASSERT_EQ(short_enc.ids.size(), 77u);
  ASSERT_EQ(short_enc.word_of_token.size(), 77u);
  EXPECT_FALSE(short_enc.truncated);
  EXPECT_EQ(short_enc.ids[0], 49406);
  EXPECT_EQ(short_enc.ids[6], 49407);
  for (size_t i = 7; i < 77; ++i) {
    EXPECT_EQ(short_enc.ids[i], 49407);
    EXPECT_EQ(short_enc.word_of_token[i], -1);
  }
  std::string exact, longer;
  for (int i = 0; i < 75; ++i) exact += "cat ";
  const auto fits = clip().encode_for_model(exact);
  EXPECT_FALSE(fits.truncated);
  EXPECT_EQ(fits.ids[76], 49407);
  EXPECT_EQ(fits.words.size(), 75u);
  for (int i = 0; i < 100; ++i) longer += "dog ";
  const auto cut = clip().encode_for_model(longer);
  EXPECT_TRUE(cut.truncated);
  ASSERT_EQ(cut.ids.size(), 77u);
  EXPECT_EQ(cut.ids[75], clip().token_id("dog</w>"));
  EXPECT_EQ(cut.ids[76], 49407);
  EXPECT_EQ(cut.words.size(), 75u);
  EXPECT_EQ(cut.word_of_token[75], 74);
  EXPECT_EQ(cut.word_of_token[76], -1);
  EXPECT_EQ(clip().encode_for_model(longer, 0).ids.size(), 102u);
  EXPECT_THROW(clip().encode_for_model("a", 1), Error);
}

TEST(ClipTokenizer, WordMap) {
  const auto enc = clip().encode_for_model("A photograph of an astronaut", 0);
  EXPECT_EQ(enc.words, (std::vector<std::string>{"a", "photograph", "of", "an", "astronaut"}));
  ASSERT_EQ(enc.ids.size(), enc.word_of_token.size());
  EXPECT_EQ(enc.word_of_token.front(), -1);
  EXPECT_EQ(enc.word_of_token.back(), -1);
  // Each word's tokens are contiguous, in order, and decode back to the word.
  for (int w = 0; w < static_cast<int>(enc.words.size()); ++w) {
    Ids ids;
    for (size_t i = 0; i < enc.ids.size(); ++i)
      if (enc.word_of_token[i] == w) ids.push_back(enc.ids[i]);
    EXPECT_EQ(clip().decode(ids), enc.words[w]);
  }
  // A rare long word spans several tokens, all mapped to it; "." is a word of its own.
  const auto rare = clip().encode_for_model("supercalifragilisticexpialidocious cats.", 0);
  EXPECT_EQ(rare.words,
            (std::vector<std::string>{"supercalifragilisticexpialidocious", "cats", "."}));
  ASSERT_GT(rare.ids.size(), 6u);
  const size_t n = rare.ids.size();
  for (size_t i = 1; i < n - 3; ++i) EXPECT_EQ(rare.word_of_token[i], 0) << i;
  EXPECT_EQ(rare.word_of_token[n - 3], 1);
  EXPECT_EQ(rare.word_of_token[n - 2], 2);
  // A multi-byte character split across byte tokens still decodes whole.
  const auto cjk = clip().encode_for_model("小さな赤い", 0);
  EXPECT_EQ(cjk.words, (std::vector<std::string>{"小さな赤い"}));
}

TEST(ClipTokenizer, EmptyAndPunctuationOnly) {
  EXPECT_TRUE(clip().encode("").empty());
  EXPECT_TRUE(clip().encode(" \t\n  ").empty());
  const auto enc = clip().encode_for_model("");
  EXPECT_EQ(enc.ids[0], 49406);
  EXPECT_EQ(enc.ids[1], 49407);
  EXPECT_TRUE(enc.words.empty());
  const Ids punct = clip().encode("?!... --- ;;");
  ASSERT_FALSE(punct.empty());
  EXPECT_EQ(clip().decode(punct), "?!... --- ;;");
}

TEST(ClipTokenizer, InvalidUtf8BecomesReplacementCharacter) {
  const std::string bad = "a\xFF b\xC3 \xE2\x82 c\xED\xA0\x80";
  Ids ids;
  ASSERT_NO_THROW(ids = clip().encode(bad));
  EXPECT_EQ(ids,
            clip().encode(
                "a\xEF\xBF\xBD b\xEF\xBF\xBD \xEF\xBF\xBD c\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"));
  EXPECT_NO_THROW(clip().encode_for_model(bad));
  // Decoding a lone byte token of a multi-byte character gives U+FFFD, not broken UTF-8.
  EXPECT_EQ(clip().decode({clip().token_id(byte_alphabet()[0xE2])}), "\xEF\xBF\xBD");
}

TEST(ClipTokenizer, NormalisesLikeTheReference) {
  const auto& t = clip();
  EXPECT_EQ(t.encode("Tom &amp; Jerry"), t.encode("tom & jerry"));
  EXPECT_EQ(t.encode("Tom &amp;amp; Jerry"), t.encode("tom & jerry"));  // unescaped twice
  EXPECT_EQ(t.encode("don\u2019t \u201Cquote\u201D"), t.encode("don't \"quote\""));
  EXPECT_EQ(t.encode("\uFF21\uFF22\uFF23\u3000\uFF11"), t.encode("abc 1"));  // full width
  EXPECT_EQ(t.encode("e\u0301t\u00E9"), t.encode("\u00E9t\u00E9"));          // NFC
  EXPECT_EQ(t.encode("\uFB01ne \u00DCBER"), t.encode("fine \u00FCber"));     // ligature, case
  EXPECT_EQ(t.encode("  a\u00A0\u2003b\r\n"), t.encode("a b"));
  EXPECT_EQ(t.encode("a\x01\x7F b"), t.encode("a b"));  // control characters dropped
}

TEST(ClipTokenizer, DecodeJoinsWords) {
  EXPECT_EQ(clip().decode(clip().encode("A photo of a cat.")), "a photo of a cat .");
  EXPECT_EQ(clip().decode({}), "");
  EXPECT_THROW(clip().decode({-1}), Error);
  EXPECT_THROW(clip().decode({1 << 20}), Error);
}

TEST(ClipTokenizer, ErrorsNameTheFile) {
  test::TempDir dir;
  auto expect_error = [](const std::string& path, const std::string& needle) {
    try {
      load_clip_tokenizer(path);
      ADD_FAILURE() << "no error for " << path;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error(dir.file("missing"), "missing: no such file");
  expect_error(dir.path(), "no CLIP tokenizer here");
  write_file(dir.file("plain.gz"), "not gzip at all");
  expect_error(dir.file("plain.gz"), "plain.gz: not a gzip file");
  {
    std::ifstream in(gz_path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    write_file(dir.file("cut.txt.gz"), bytes.substr(0, bytes.size() / 2));
    write_file(dir.file("flipped.txt.gz"),
               bytes.substr(0, 5000) + std::string(64, '\x55') + bytes.substr(5064));
  }
  expect_error(dir.file("cut.txt.gz"), "cut.txt.gz: ");
  expect_error(dir.file("flipped.txt.gz"), "flipped.txt.gz: ");
  write_file(dir.file("vocab.json"), "{\"a\": 1,");
  write_file(dir.file("merges.txt"), "#version: 0.2\na b\n");
  expect_error(dir.path(), "vocab.json: invalid JSON");
  write_file(dir.file("vocab.json"), R"({"a": 0, "b": 1, "ab": 2})");
  expect_error(dir.path(), "vocab.json: the vocabulary has no token \"<|startoftext|>\"");
  write_file(dir.file("merges.txt"), "#version: 0.2\na b\nabc\n");
  expect_error(dir.path(), "merges.txt: line 3: expected a merge");
  write_file(dir.file("merges.txt"), "#version: 0.2\na c\n");
  expect_error(dir.path(), "vocab.json: merge 1 \"a c\"");
  write_file(dir.file("tokenizer.json"), R"({"model": {"type": "WordPiece", "vocab": {}}})");
  expect_error(dir.path(), "tokenizer.json: model type \"WordPiece\" is not BPE");
  write_file(
      dir.file("tokenizer.json"),
      R"({"model": {"type": "BPE", "end_of_word_suffix": null, "vocab": {}, "merges": []}})");
  expect_error(dir.path(), "tokenizer.json: model.end_of_word_suffix");
  test::TempDir bad_pad;
  write_hf_slow(bad_pad.path());
  write_file(bad_pad.file("tokenizer_config.json"), R"({"pad_token": "<pad>"})");
  expect_error(bad_pad.path(), "the vocabulary has no token \"<pad>\"");
}

TEST(Unicode, HtmlUnescapeFollowsPython) {
  auto un = [](const std::string& s) { return u32_to_utf8(html_unescape(utf8_to_u32(s))); };
  EXPECT_EQ(un("&lt;b&gt; &quot;x&quot; &#39;y&#x27; &apos;"), "<b> \"x\" 'y' '");
  EXPECT_EQ(un("&ampx &amp &notit; &copy2024"), "&x & \u00ACit; \u00A92024");
  EXPECT_EQ(un("&bogus; & &#; &#x; &"), "&bogus; & &#; &#x; &");
  EXPECT_EQ(un("&#0;&#128;&#x110000;&#xD800;&#1;|"), "\uFFFD\u20AC\uFFFD\uFFFD|");
  EXPECT_EQ(un("&eacute;&Eacute;&hellip;&mdash;&euro;"), "\u00E9\u00C9\u2026\u2014\u20AC");
  EXPECT_EQ(un("&hellip no semicolon"), "&hellip no semicolon");  // not a legacy name
}

TEST(Unicode, ClassesAndCaseFollowPython) {
  EXPECT_TRUE(is_letter(U'\u00E9'));
  EXPECT_TRUE(is_letter(U'\u5C0F'));
  EXPECT_FALSE(is_letter(U'\u3002'));
  EXPECT_TRUE(is_number(U'\u0663'));  // Arabic-Indic three
  EXPECT_TRUE(is_number(U'\u00BD'));  // ½ (No)
  EXPECT_FALSE(is_space(U'\u001F'));  // str.isspace() says yes, the regex module no
  EXPECT_TRUE(is_space(U'\u0085'));
  EXPECT_TRUE(is_space(U'\u3000'));
  EXPECT_FALSE(is_space(U'\u200B'));
  EXPECT_EQ(to_lower(U"\u039F\u0394\u039F\u03A3 \u0130"), U"\u03BF\u03B4\u03BF\u03C2 i\u0307");
  EXPECT_EQ(utf8_to_u32("\xF0\x9F\x99\x82"), U"\U0001F642");
  EXPECT_EQ(utf8_to_u32("\xF0\x9F\x99"), U"\uFFFD");  // one maximal subpart, one U+FFFD
  EXPECT_EQ(utf8_to_u32("\xC0\xAF"), U"\uFFFD\uFFFD");
}

}  // namespace
}  // namespace lavender::text
