#include "lavender/text/clip_tokenizer.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string_view>

#include "lavender/io/json_file.h"
#include "lavender/text/clip_pretokenize.h"
#include "lavender/text/gzip_file.h"
#include "lavender/text/unicode.h"
#include "lavender/util/error.h"

namespace lavender::text {
namespace {

namespace fs = std::filesystem;
using Merges = std::vector<std::pair<std::string, std::string>>;

const std::string kStartOfText = "<|startoftext|>";
const std::string kEndOfText = "<|endoftext|>";
const std::string kEndOfWord = "</w>";
// simple_tokenizer.py keeps 49152 - 256 - 2 merges, so that the vocabulary has 49,408 ids.
constexpr size_t kOpenAiMerges = 49152 - 256 - 2;
// Bounds the per-word cache; ordinary caption corpora stay far below it.
constexpr size_t kMaxCachedWords = 1 << 18;

// GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68 bytes to
// U+0100 onwards in byte order. `order` lists bytes in the order the vocabulary enumerates them.
struct ByteMap {
  char32_t code_point[256];
  uint8_t order[256];
  int16_t byte_of[512];  // code point -> byte, -1 if not in the alphabet
};

const ByteMap& byte_map() {
  static const ByteMap map = [] {
    ByteMap m{};
    auto printable = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    int n = 0, k = 0;
    for (int b = 0; b < 256; ++b)
      if (printable(b)) {
        m.code_point[b] = static_cast<char32_t>(b);
        m.order[k++] = static_cast<uint8_t>(b);
      }
    for (int b = 0; b < 256; ++b)
      if (!printable(b)) {
        m.code_point[b] = static_cast<char32_t>(256 + n++);
        m.order[k++] = static_cast<uint8_t>(b);
      }
    for (auto& v : m.byte_of) v = -1;
    for (int b = 0; b < 256; ++b) m.byte_of[m.code_point[b]] = static_cast<int16_t>(b);
    return m;
  }();
  return map;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool starts_at(std::u32string_view s, size_t pos, std::u32string_view prefix) {
  return s.substr(pos, prefix.size()) == prefix;
}

// One match of CLIP's pattern at `pos`, alternatives tried in the pattern's order:
//   <|startoftext|> | <|endoftext|> | 's|'t|'re|'ve|'m|'ll|'d | \p{L}+ | \p{N} | [^\s\p{L}\p{N}]+
// Returns its length, or 0 at a space (which no alternative matches).
size_t match_length(std::u32string_view s, size_t pos) {
  static const std::u32string_view kFixed[] = {
      U"<|startoftext|>", U"<|endoftext|>", U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"};
  for (auto fixed : kFixed)
    if (starts_at(s, pos, fixed)) return fixed.size();
  const char32_t c = s[pos];
  size_t end = pos + 1;
  if (is_letter(c)) {
    while (end < s.size() && is_letter(s[end])) ++end;
  } else if (is_number(c)) {
    // one digit per word
  } else if (is_space(c)) {
    return 0;
  } else {
    while (end < s.size() && !is_space(s[end]) && !is_letter(s[end]) && !is_number(s[end])) ++end;
  }
  return end - pos;
}

std::vector<std::u32string_view> split_words(std::u32string_view s) {
  std::vector<std::u32string_view> words;
  for (size_t pos = 0; pos < s.size();) {
    const size_t len = match_length(s, pos);
    if (len > 0) words.push_back(s.substr(pos, len));
    pos += len > 0 ? len : 1;
  }
  return words;
}

// simple_tokenizer.py's basic_clean + whitespace_clean + lower().
std::u32string normalize_text(const std::string& text) {
  std::u32string s = fix_text_basic(utf8_to_u32(text));
  s = html_unescape(html_unescape(s));
  return to_lower(clean_whitespace(s));
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}

std::pair<std::string, std::string> parse_merge(const std::string& line, const std::string& where) {
  const size_t space = line.find(' ');
  if (space == 0 || space == std::string::npos || space + 1 == line.size() ||
      line.find(' ', space + 1) != std::string::npos)
    throw Error(where + ": expected a merge \"LEFT RIGHT\", got \"" + line + "\"");
  return {line.substr(0, space), line.substr(space + 1)};
}

// ---- loaders ----

struct Loaded {
  std::unordered_map<std::string, int64_t> vocab;
  Merges merges;
  std::string source;
  std::string pad_token;  // from tokenizer.json's padding, if any
};

// simple_tokenizer.py: the byte alphabet, the same with </w>, every merge joined, the specials.
Loaded load_openai_gz(const std::string& path) {
  const std::vector<std::string> lines = split_lines(read_gzip_file(path));
  if (lines.size() < kOpenAiMerges + 1)
    throw Error(path + ": has " + std::to_string(lines.empty() ? 0 : lines.size() - 1) +
                " merges, expected at least " + std::to_string(kOpenAiMerges));
  Loaded out;
  out.source = path;
  std::vector<std::string> tokens;
  const auto& bytes = byte_map();
  for (int i = 0; i < 256; ++i) {
    tokens.emplace_back();
    append_utf8(tokens.back(), bytes.code_point[bytes.order[i]]);
  }
  for (int i = 0; i < 256; ++i) tokens.push_back(tokens[i] + kEndOfWord);
  for (size_t i = 1; i <= kOpenAiMerges; ++i) {
    out.merges.push_back(parse_merge(lines[i], path + ": line " + std::to_string(i + 1)));
    tokens.push_back(out.merges.back().first + out.merges.back().second);
  }
  tokens.push_back(kStartOfText);
  tokens.push_back(kEndOfText);
  // As Python's dict(zip(vocab, range(...))): a repeated token keeps its last id.
  for (size_t i = 0; i < tokens.size(); ++i) out.vocab[tokens[i]] = static_cast<int64_t>(i);
  return out;
}

std::unordered_map<std::string, int64_t> parse_vocab(const nlohmann::json& j,
                                                     const std::string& where) {
  if (!j.is_object()) throw Error(where + ": vocabulary is not a JSON object");
  std::unordered_map<std::string, int64_t> vocab;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_number_integer())
      throw Error(where + ": id of token \"" + it.key() + "\" is not an integer");
    vocab[it.key()] = it.value().get<int64_t>();
  }
  return vocab;
}

// HF CLIPTokenizer files: vocab.json (token -> id) and merges.txt ("#version" header, "a b").
Loaded load_vocab_and_merges(const std::string& vocab_path, const std::string& merges_path) {
  Loaded out;
  out.source = vocab_path;
  out.vocab = parse_vocab(io::read_json_file(vocab_path), vocab_path);
  const std::vector<std::string> lines = split_lines(io::read_text_file(merges_path));
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty() || (i == 0 && lines[i].rfind("#version", 0) == 0)) continue;
    out.merges.push_back(parse_merge(lines[i], merges_path + ": line " + std::to_string(i + 1)));
  }
  return out;
}

// HF tokenizers' merges: "a b" strings (older files) or ["a", "b"] pairs (tokenizers >= 0.20).
Merges parse_json_merges(const nlohmann::json& j, const std::string& path) {
  if (!j.is_array()) throw Error(path + ": model.merges is not an array");
  Merges merges;
  for (size_t i = 0; i < j.size(); ++i) {
    const auto& m = j[i];
    const std::string where = path + ": model.merges[" + std::to_string(i) + "]";
    if (m.is_string()) {
      merges.push_back(parse_merge(m.get<std::string>(), where));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      throw Error(where + ": expected \"LEFT RIGHT\" or [LEFT, RIGHT]");
    }
  }
  return merges;
}

Loaded load_tokenizer_json(const std::string& path) {
  const nlohmann::json j = io::read_json_file(path);
  const nlohmann::json* model = j.is_object() && j.contains("model") ? &j["model"] : nullptr;
  if (model == nullptr || !model->is_object())
    throw Error(path + ": no \"model\" object (not a tokenizer.json)");
  const std::string type = model->value("type", "");
  if (type != "BPE")
    throw Error(path + ": model type \"" + type + "\" is not BPE (not a CLIP tokenizer)");
  const auto suffix = model->find("end_of_word_suffix");
  if (suffix == model->end() || !suffix->is_string() || suffix->get<std::string>() != kEndOfWord)
    throw Error(path + ": model.end_of_word_suffix is not \"</w>\" (not a CLIP tokenizer)");
  if (!model->contains("vocab") || !model->contains("merges"))
    throw Error(path + ": model has no vocab or merges");
  Loaded out;
  out.source = path;
  out.vocab = parse_vocab((*model)["vocab"], path + ": model.vocab");
  out.merges = parse_json_merges((*model)["merges"], path);
  if (j.contains("added_tokens") && j["added_tokens"].is_array())
    for (const auto& t : j["added_tokens"])
      if (t.is_object() && t.contains("content") && t["content"].is_string() && t.contains("id") &&
          t["id"].is_number_integer())
        out.vocab.emplace(t["content"].get<std::string>(), t["id"].get<int64_t>());
  const auto padding = j.find("padding");
  if (padding != j.end() && padding->is_object() && padding->contains("pad_token") &&
      (*padding)["pad_token"].is_string())
    out.pad_token = (*padding)["pad_token"].get<std::string>();
  return out;
}

// "pad_token": "!" or {"content": "!", ...} in tokenizer_config.json / special_tokens_map.json.
std::string pad_token_in(const std::string& path) {
  if (!fs::is_regular_file(path)) return "";
  const nlohmann::json j = io::read_json_file(path);
  if (!j.is_object() || !j.contains("pad_token")) return "";
  const auto& pad = j["pad_token"];
  if (pad.is_string()) return pad.get<std::string>();
  if (pad.is_object() && pad.contains("content") && pad["content"].is_string())
    return pad["content"].get<std::string>();
  if (pad.is_null()) return "";
  throw Error(path + ": pad_token is neither a string nor {\"content\": ...}");
}

std::string configured_pad_token(const fs::path& dir, const std::string& fallback) {
  for (const char* name : {"tokenizer_config.json", "special_tokens_map.json"}) {
    std::string pad = pad_token_in((dir / name).string());
    if (!pad.empty()) return pad;
  }
  return fallback;
}

std::unique_ptr<ClipTokenizer> build(Loaded loaded, const fs::path& dir) {
  const std::string pad = configured_pad_token(dir, loaded.pad_token);
  return std::make_unique<ClipTokenizer>(std::move(loaded.vocab), loaded.merges, loaded.source,
                                         pad);
}

// The tokenizer files in `dir`, or nullptr when there are none.
std::unique_ptr<ClipTokenizer> load_from_folder(const fs::path& dir) {
  if (fs::is_regular_file(dir / "tokenizer.json"))
    return build(load_tokenizer_json((dir / "tokenizer.json").string()), dir);
  if (fs::is_regular_file(dir / "vocab.json") && fs::is_regular_file(dir / "merges.txt"))
    return build(
        load_vocab_and_merges((dir / "vocab.json").string(), (dir / "merges.txt").string()), dir);
  if (fs::is_regular_file(dir / "bpe_simple_vocab_16e6.txt.gz"))
    return build(load_openai_gz((dir / "bpe_simple_vocab_16e6.txt.gz").string()), dir);
  return nullptr;
}

}  // namespace

const std::vector<std::string>& byte_alphabet() {
  static const std::vector<std::string> alphabet = [] {
    std::vector<std::string> a(256);
    for (int b = 0; b < 256; ++b) append_utf8(a[b], byte_map().code_point[b]);
    return a;
  }();
  return alphabet;
}

// ---- ClipTokenizer ----

ClipTokenizer::ClipTokenizer(std::unordered_map<std::string, int64_t> vocab, const Merges& merges,
                             const std::string& source, const std::string& pad_token)
    : token_to_id_(std::move(vocab)) {
  int64_t max_id = -1;
  for (const auto& [tok, id] : token_to_id_) {
    if (id < 0 || id >= (int64_t{1} << 24))
      throw Error(source + ": token \"" + tok + "\" has id " + std::to_string(id) +
                  ", outside 0..16777215");
    max_id = std::max(max_id, id);
  }
  id_to_token_.assign(static_cast<size_t>(max_id + 1), "");
  for (const auto& [tok, id] : token_to_id_) {
    if (!id_to_token_[id].empty())
      throw Error(source + ": id " + std::to_string(id) + " is given to both \"" +
                  id_to_token_[id] + "\" and \"" + tok + "\"");
    id_to_token_[id] = tok;
  }
  build_merges(merges, source);
  build_byte_symbols();
  bos_id_ = required_id(kStartOfText, source);
  eos_id_ = required_id(kEndOfText, source);
  pad_id_ = pad_token.empty() ? eos_id_ : required_id(pad_token, source);
}

int64_t ClipTokenizer::required_id(const std::string& tok, const std::string& source) const {
  const int64_t id = token_id(tok);
  if (id < 0) throw Error(source + ": the vocabulary has no token \"" + tok + "\"");
  return id;
}

void ClipTokenizer::build_merges(const Merges& merges, const std::string& source) {
  merges_.reserve(merges.size() * 2);
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [left, right] = merges[rank];
    const int64_t a = token_id(left), b = token_id(right), ab = token_id(left + right);
    if (a < 0 || b < 0 || ab < 0)
      throw Error(source + ": merge " + std::to_string(rank + 1) + " \"" + left + " " + right +
                  "\" uses or makes a token not in the vocabulary");
    const uint64_t key = static_cast<uint64_t>(a) << 32 | static_cast<uint64_t>(b);
    merges_.emplace(key, Merge{static_cast<int32_t>(rank), static_cast<int32_t>(ab)});
  }
}

void ClipTokenizer::build_byte_symbols() {
  for (int b = 0; b < 256; ++b) {
    const std::string& ch = byte_alphabet()[b];
    byte_symbol_[b] = static_cast<int32_t>(token_id(ch));
    byte_symbol_eow_[b] = static_cast<int32_t>(token_id(ch + kEndOfWord));
  }
}

const std::string& ClipTokenizer::token(int64_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() || id_to_token_[id].empty())
    throw Error("CLIP tokenizer: id " + std::to_string(id) + " is not in the vocabulary");
  return id_to_token_[id];
}

int64_t ClipTokenizer::token_id(const std::string& tok) const {
  auto it = token_to_id_.find(tok);
  return it == token_to_id_.end() ? -1 : it->second;
}

// Byte symbols, then repeatedly: find the lowest-ranked adjacent pair and merge every
// occurrence of it left to right (simple_tokenizer.py's loop). A byte with no symbol in the
// vocabulary (-1) never merges and comes out as the unknown token, <|endoftext|> as in HF.
std::vector<int32_t> ClipTokenizer::bpe(const std::string& word_bytes) const {
  std::vector<int32_t> symbols(word_bytes.size());
  for (size_t i = 0; i < word_bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(word_bytes[i]);
    symbols[i] = i + 1 == word_bytes.size() ? byte_symbol_eow_[b] : byte_symbol_[b];
  }
  std::vector<int32_t> next;
  while (symbols.size() > 1) {
    const Merge* best = nullptr;
    uint64_t best_key = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      if (symbols[i] < 0 || symbols[i + 1] < 0) continue;
      const uint64_t key =
          static_cast<uint64_t>(symbols[i]) << 32 | static_cast<uint32_t>(symbols[i + 1]);
      auto it = merges_.find(key);
      if (it != merges_.end() && (best == nullptr || it->second.rank < best->rank)) {
        best = &it->second;
        best_key = key;
      }
    }
    if (best == nullptr) break;
    const auto left = static_cast<int32_t>(best_key >> 32);
    const auto right = static_cast<int32_t>(best_key & 0xFFFFFFFF);
    next.clear();
    for (size_t i = 0; i < symbols.size(); ++i) {
      if (i + 1 < symbols.size() && symbols[i] == left && symbols[i + 1] == right) {
        next.push_back(best->merged);
        ++i;
      } else {
        next.push_back(symbols[i]);
      }
    }
    symbols.swap(next);
  }
  for (auto& s : symbols)
    if (s < 0) s = static_cast<int32_t>(eos_id_);
  return symbols;
}

void ClipTokenizer::append_word(const std::u32string& word, std::vector<int64_t>& ids) const {
  const std::string bytes = u32_to_utf8(word);
  if (bytes == kStartOfText || bytes == kEndOfText) {
    ids.push_back(bytes == kStartOfText ? bos_id_ : eos_id_);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(bytes);
    if (it != cache_.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> symbols = bpe(bytes);
  ids.insert(ids.end(), symbols.begin(), symbols.end());
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= kMaxCachedWords) cache_.clear();
  cache_.emplace(bytes, std::move(symbols));
}

std::vector<std::string> clip_pretokenize(const std::string& text) {
  const std::u32string clean = normalize_text(text);
  std::vector<std::string> words;
  for (std::u32string_view w : split_words(clean)) words.push_back(u32_to_utf8(w));
  return words;
}

std::vector<int64_t> ClipTokenizer::encode(const std::string& text) const {
  const std::u32string clean = normalize_text(text);
  std::vector<int64_t> ids;
  std::u32string word;
  for (std::u32string_view w : split_words(clean)) {
    word.assign(w);
    append_word(word, ids);
  }
  return ids;
}

ClipTokenizer::Encoding ClipTokenizer::encode_for_model(const std::string& text,
                                                        int max_length) const {
  if (max_length != 0 && max_length < 2)
    throw Error("CLIP tokenizer: max_length " + std::to_string(max_length) +
                " leaves no room for the start and end tokens");
  std::vector<int64_t> content = encode(text);
  Encoding enc;
  const size_t room = static_cast<size_t>(max_length) - 2;
  if (max_length > 0 && content.size() > room) {
    content.resize(room);
    enc.truncated = true;
  }
  enc.ids.push_back(bos_id_);
  enc.word_of_token.push_back(-1);
  std::vector<std::vector<int64_t>> word_ids;
  bool in_word = false;  // the last word has not reached its "</w>" yet
  for (int64_t id : content) {
    enc.ids.push_back(id);
    if (is_special(id)) {
      enc.word_of_token.push_back(-1);
      in_word = false;
      continue;
    }
    if (!in_word) word_ids.emplace_back();
    word_ids.back().push_back(id);
    enc.word_of_token.push_back(static_cast<int>(word_ids.size()) - 1);
    in_word = !ends_with(token(id), kEndOfWord);
  }
  enc.ids.push_back(eos_id_);
  enc.word_of_token.push_back(-1);
  for (const auto& ids : word_ids) enc.words.push_back(decode(ids));
  const size_t target = max_length > 0 ? static_cast<size_t>(max_length) : enc.ids.size();
  enc.ids.resize(target, pad_id_);
  enc.word_of_token.resize(target, -1);
  return enc;
}

std::string ClipTokenizer::decode(const std::vector<int64_t>& ids) const {
  const auto& bytes = byte_map();
  std::string raw;
  for (int64_t id : ids) {
    const std::string& tok = token(id);
    if (is_special(id)) {
      raw += tok;
      continue;
    }
    const bool eow = ends_with(tok, kEndOfWord);
    for (char32_t cp : utf8_to_u32(std::string_view(tok).substr(0, tok.size() - (eow ? 4 : 0)))) {
      const int b = cp < 512 ? bytes.byte_of[cp] : -1;
      if (b >= 0)
        raw.push_back(static_cast<char>(b));
      else
        append_utf8(raw, cp);  // not a byte symbol (an added token): keep its text
    }
    if (eow) raw.push_back(' ');
  }
  while (!raw.empty() && raw.back() == ' ') raw.pop_back();
  return u32_to_utf8(utf8_to_u32(raw));  // invalid UTF-8 -> U+FFFD
}

// ---- loading ----

std::unique_ptr<ClipTokenizer> load_clip_tokenizer(const std::string& path) {
  const fs::path p(path);
  std::error_code ec;
  if (!fs::exists(p, ec)) throw Error(path + ": no such file or folder");
  if (fs::is_directory(p)) {
    if (auto tok = load_from_folder(p)) return tok;
    if (fs::is_directory(p / "tokenizer"))
      if (auto tok = load_from_folder(p / "tokenizer")) return tok;
    throw Error(path +
                ": no CLIP tokenizer here (expected tokenizer.json, vocab.json + merges.txt, "
                "bpe_simple_vocab_16e6.txt.gz, or a tokenizer/ folder holding one)");
  }
  const std::string name = p.filename().string();
  const fs::path dir = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  if (ends_with(name, ".gz")) return build(load_openai_gz(path), dir);
  if (name == "vocab.json" || name == "merges.txt")
    return build(
        load_vocab_and_merges((dir / "vocab.json").string(), (dir / "merges.txt").string()), dir);
  if (ends_with(name, ".json")) return build(load_tokenizer_json(path), dir);
  throw Error(path +
              ": not a CLIP tokenizer file (expected a .gz merges file, tokenizer.json, "
              "vocab.json or merges.txt)");
}

}  // namespace lavender::text
