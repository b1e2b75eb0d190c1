// libFuzzer target: tokenizer.json loading and BPE encoding/decoding, byte-level and
// SentencePiece-style.
//   1. The input as a tokenizer.json: loading may reject it only with lavender::Error; a file
//      that loads must encode and decode a fixed text.
//   2. The input as text, encoded by small fixed tokenizers (Llama 3 and GPT-2 split patterns,
//      merges, special tokens; a Llama 2-style one with byte fallback, normalizer and decoder
//      chain): decoding must give the text back (after invalid UTF-8 became U+FFFD; for the
//      SentencePiece-style one, "▁" reads back as a space), for any bytes.
// Anything else (another exception, a crash, a sanitizer report, a hang) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "lavender/text/byte_bpe.h"
#include "lavender/text/clip_tokenizer.h"
#include "lavender/text/sp_bpe.h"
#include "lavender/text/unicode.h"
#include "lavender/util/error.h"

namespace {

using lavender::text::ByteBpeTokenizer;
using lavender::text::SpBpeTokenizer;
using lavender::text::SplitPattern;

// 256 byte symbols, merges building " the", "in", "ing", "12", two special tokens, BOS.
std::unique_ptr<ByteBpeTokenizer> fixed_tokenizer(SplitPattern pattern) {
  const auto& alphabet = lavender::text::byte_alphabet();
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[alphabet[b]] = b;
  const std::string sp = alphabet[' '];
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"h", "e"}, {sp, "t"}, {sp + "t", "he"}, {"i", "n"}, {"in", "g"}, {"1", "2"}, {sp, sp}};
  nlohmann::json merge_list = nlohmann::json::array();
  int id = 256;
  for (const auto& [a, b] : merges) {
    vocab[a + b] = id++;
    merge_list.push_back(a + " " + b);
  }
  nlohmann::json pre;
  if (pattern == SplitPattern::kGpt2)
    pre = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  else
    pre = {{"type", "Sequence"},
           {"pretokenizers",
            {{{"type", "Split"},
              {"pattern", {{"Regex", lavender::text::split_pattern_regex(pattern)}}},
              {"behavior", "Isolated"}},
             {{"type", "ByteLevel"}, {"use_regex", false}}}}};
  const nlohmann::json j = {
      {"model",
       {{"type", "BPE"}, {"vocab", vocab}, {"merges", merge_list}, {"ignore_merges", true}}},
      {"pre_tokenizer", pre},
      {"added_tokens",
       {{{"id", 263}, {"content", "<|begin_of_text|>"}, {"special", true}},
        {{"id", 264}, {"content", "<|image|>"}, {"special", true}}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single",
         {{{"SpecialToken", {{"id", "<|begin_of_text|>"}}}}, {{"Sequence", {{"id", "A"}}}}}},
        {"special_tokens", {{"<|begin_of_text|>", {{"ids", {263}}}}}}}}};
  return lavender::text::load_byte_bpe_tokenizer(j, "fixed/tokenizer.json");
}

void check_round_trip(const ByteBpeTokenizer& tok, const std::string& text) {
  const std::string expected =
      lavender::text::u32_to_utf8(lavender::text::utf8_to_u32(text));  // invalid -> U+FFFD
  if (tok.decode(tok.encode(text, false)) != expected) std::abort();
  const std::vector<int64_t> with_bos = tok.encode(text, true);
  if (with_bos.empty() || with_bos[0] != 263 ||
      tok.decode(with_bos) != "<|begin_of_text|>" + expected)
    std::abort();
}

const std::string kMetaSpace = "\xE2\x96\x81";  // "▁"

// Llama 2's layout in small: "▁", a-e and their merges, 256 <0xNN> byte tokens, <s>, <image>.
std::unique_ptr<SpBpeTokenizer> fixed_sp_tokenizer() {
  nlohmann::json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}, {kMetaSpace, 3}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    vocab[name] = 4 + b;
  }
  int id = 260;
  for (const char* t : {"a", "b", "c", "d", "e", "ab", "abc",
                        "\xE2\x96\x81"
                        "a",
                        "de"})
    vocab[t] = id++;
  const nlohmann::json j = {
      {"model",
       {{"type", "BPE"},
        {"vocab", vocab},
        {"merges", {"a b", "ab c", kMetaSpace + " a", "d e"}},
        {"byte_fallback", true},
        {"unk_token", "<unk>"},
        {"fuse_unk", true}}},
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers",
         {{{"type", "Prepend"}, {"prepend", kMetaSpace}},
          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", kMetaSpace}}}}}},
      {"added_tokens",
       {{{"id", 1}, {"content", "<s>"}, {"special", true}},
        {{"id", 269}, {"content", "<image>"}, {"special", true}}}},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders",
         {{{"type", "Replace"}, {"pattern", {{"String", kMetaSpace}}}, {"content", " "}},
          {{"type", "ByteFallback"}},
          {{"type", "Fuse"}},
          {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}}};
  return lavender::text::load_sp_bpe_tokenizer(j, "fixed/sp/tokenizer.json");
}

// Round trip for text without added tokens: each run after an added token gets its own "▁"
// (Llama 2 decodes "<image>x" as "<image> x"), so those are taken out of the text first.
void check_sp_round_trip(const SpBpeTokenizer& tok, std::string text) {
  for (bool removed = true; removed;) {
    removed = false;
    for (const std::string added : {"<s>", "<image>"})
      for (size_t at; (at = text.find(added)) != std::string::npos; removed = true)
        text.erase(at, added.size());
  }
  std::string expected = lavender::text::u32_to_utf8(lavender::text::utf8_to_u32(text));
  for (size_t at; (at = expected.find(kMetaSpace)) != std::string::npos;)
    expected.replace(at, kMetaSpace.size(), " ");
  if (tok.decode(tok.encode(text, false)) != expected) std::abort();
}

// The input as a tokenizer.json of either BPE kind.
void load_and_use(const nlohmann::json& j) {
  try {
    std::unique_ptr<lavender::text::Tokenizer> tok;
    if (lavender::text::is_sp_bpe_json(j))
      tok = lavender::text::load_sp_bpe_tokenizer(j, "fuzz/tokenizer.json");
    else
      tok = lavender::text::load_byte_bpe_tokenizer(j, "fuzz/tokenizer.json");
    const std::vector<int64_t> ids = tok->encode("Hello <|image|> world 12345  \n!", true);
    tok->decode(ids);
  } catch (const lavender::Error&) {
    // Rejected with a message: the expected outcome for a bad file.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto llama3 = fixed_tokenizer(SplitPattern::kLlama3);
  static const auto gpt2 = fixed_tokenizer(SplitPattern::kGpt2);
  const std::string input(reinterpret_cast<const char*>(data), size);

  static const auto llama2 = fixed_sp_tokenizer();
  const nlohmann::json j = nlohmann::json::parse(input, nullptr, false);
  if (!j.is_discarded()) load_and_use(j);
  check_round_trip(*llama3, input);
  check_round_trip(*gpt2, input);
  check_sp_round_trip(*llama2, input);
  return 0;
}
