#include "lavender/text/byte_bpe.h"

#include <algorithm>
#include <limits>

#include "lavender/text/clip_tokenizer.h"
#include "lavender/text/unicode.h"
#include "lavender/util/error.h"

namespace lavender::text {
namespace {

constexpr int32_t kNoMerge = std::numeric_limits<int32_t>::max();
// Bounds the per-piece cache; ordinary corpora stay far below it.
constexpr size_t kMaxCachedPieces = 1 << 18;

// Byte alphabet code point (U+0021..U+0143) -> byte, -1 if none.
const std::vector<int16_t>& byte_of_code_point() {
  static const std::vector<int16_t> table = [] {
    std::vector<int16_t> t(512, -1);
    for (int b = 0; b < 256; ++b) t[utf8_to_u32(byte_alphabet()[b])[0]] = static_cast<int16_t>(b);
    return t;
  }();
  return table;
}

}  // namespace

ByteBpeTokenizer::ByteBpeTokenizer(ByteBpeConfig config, const std::string& source)
    : vocab_(std::move(config.vocab), config.added_tokens, source),
      pattern_(config.pattern),
      add_prefix_space_(config.add_prefix_space),
      ignore_merges_(config.ignore_merges),
      prefix_ids_(std::move(config.prefix_ids)),
      suffix_ids_(std::move(config.suffix_ids)),
      bos_id_(config.bos_id),
      eos_id_(config.eos_id) {
  for (const auto& t : config.added_tokens) added_.add(t);
  for (int b = 0; b < 256; ++b) {
    const int64_t id = token_to_id(byte_alphabet()[b]);
    if (id < 0)
      throw Error(source + ": the vocabulary lacks the byte-level symbol for byte " +
                  std::to_string(b) + " (\"" + byte_alphabet()[b] + "\"): not a byte-level BPE");
    byte_symbol_[b] = static_cast<int32_t>(id);
  }
  vocab_.add_merges(config.merges, config.merge_ranks, source);
  for (int64_t id : prefix_ids_) id_to_token(id);  // throws for an unknown id
  for (int64_t id : suffix_ids_) id_to_token(id);
}

std::string ByteBpeTokenizer::id_to_token(int64_t id) const {
  return vocab_.id_to_token(id, "byte-level BPE tokenizer");
}

bool ByteBpeTokenizer::is_special(int64_t id) const {
  return vocab_.kind(id) == BpeVocabulary::kAddedSpecial;
}

// One merge at a time: the adjacent pair of lowest rank, the leftmost of equals (HF's BPE and
// tiktoken agree on this order). Pair ranks are cached and only the merged pair's neighbours
// are looked up again.
std::vector<int32_t> ByteBpeTokenizer::bpe(std::string_view piece) const {
  std::vector<int32_t> sym(piece.size());
  for (size_t i = 0; i < piece.size(); ++i)
    sym[i] = byte_symbol_[static_cast<unsigned char>(piece[i])];
  if (sym.size() < 2) return sym;
  std::vector<int32_t> rank(sym.size() - 1);
  auto rank_at = [&](size_t i) {
    const BpeVocabulary::Merge* m = vocab_.find_merge(sym[i], sym[i + 1]);
    return m ? m->rank : kNoMerge;
  };
  for (size_t i = 0; i + 1 < sym.size(); ++i) rank[i] = rank_at(i);
  while (!rank.empty()) {
    const size_t best =
        static_cast<size_t>(std::min_element(rank.begin(), rank.end()) - rank.begin());
    if (rank[best] == kNoMerge) break;
    sym[best] = vocab_.find_merge(sym[best], sym[best + 1])->merged;
    sym.erase(sym.begin() + static_cast<std::ptrdiff_t>(best) + 1);
    rank.erase(rank.begin() + static_cast<std::ptrdiff_t>(best));
    if (best > 0) rank[best - 1] = rank_at(best - 1);
    if (best < rank.size()) rank[best] = rank_at(best);
  }
  return sym;
}

void ByteBpeTokenizer::append_piece(std::string_view piece, std::vector<int64_t>& ids) const {
  // Reused key buffer: a cache hit costs no allocation.
  thread_local std::string key;
  key.assign(piece.data(), piece.size());
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> symbols;
  if (ignore_merges_) {
    std::string mapped;
    for (char c : piece) mapped += byte_alphabet()[static_cast<unsigned char>(c)];
    const int64_t id = vocab_.model_token_id(mapped);
    if (id >= 0) symbols.push_back(static_cast<int32_t>(id));
  }
  if (symbols.empty()) symbols = bpe(piece);
  ids.insert(ids.end(), symbols.begin(), symbols.end());
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= kMaxCachedPieces) cache_.clear();
  cache_.emplace(key, std::move(symbols));
}

void ByteBpeTokenizer::clear_cache() const {
  std::lock_guard<std::mutex> lock(cache_mutex_);
  cache_.clear();
}

void ByteBpeTokenizer::append_plain(std::string_view text, std::vector<int64_t>& ids) const {
  for (std::string_view piece : split_text(text, pattern_)) append_piece(piece, ids);
}

std::vector<int64_t> ByteBpeTokenizer::encode(const std::string& text, bool add_special) const {
  std::string repaired;
  const std::string_view valid = valid_utf8_view(text, repaired);
  std::vector<int64_t> ids;
  ids.reserve(valid.size() / 3 + 4);
  if (add_special) ids = prefix_ids_;
  for (const auto& p : added_.split(valid)) {
    if (p.id >= 0)
      ids.push_back(p.id);
    else if (add_prefix_space_ && p.text[0] != ' ')  // HF: per run between added tokens
      append_plain(" " + std::string(p.text), ids);
    else
      append_plain(p.text, ids);
  }
  if (add_special) ids.insert(ids.end(), suffix_ids_.begin(), suffix_ids_.end());
  return ids;
}

std::string ByteBpeTokenizer::decode(const std::vector<int64_t>& ids) const {
  return decode(ids, false);
}

std::string ByteBpeTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special) const {
  const auto& byte_of = byte_of_code_point();
  std::string raw;
  for (int64_t id : ids) {
    const std::string tok = id_to_token(id);
    if (vocab_.kind(id) != BpeVocabulary::kModel) {
      if (!(skip_special && is_special(id))) raw += tok;
      continue;
    }
    for (char32_t cp : utf8_to_u32(tok)) {
      const int b = cp < byte_of.size() ? byte_of[cp] : -1;
      if (b >= 0)
        raw.push_back(static_cast<char>(b));
      else
        append_utf8(raw, cp);  // not a byte symbol: keep the character
    }
  }
  return u32_to_utf8(utf8_to_u32(raw));  // invalid UTF-8 (a split character) -> U+FFFD
}

}  // namespace lavender::text
