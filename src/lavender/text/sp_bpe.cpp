#include "lavender/text/sp_bpe.h"

#include <algorithm>
#include <cstdio>
#include <queue>

#include "lavender/text/unicode.h"
#include "lavender/util/error.h"

namespace lavender::text {
namespace {

// Words longer than this are merged every time rather than cached.
constexpr size_t kMaxCachedWordBytes = 256;
constexpr size_t kMaxCachedPieceWords = 1 << 17;

size_t utf8_length(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

}  // namespace

SpBpeTokenizer::SpBpeTokenizer(SpBpeConfig config, const std::string& source)
    : vocab_(std::move(config.vocab), config.added_tokens, source),
      normalizer_(std::move(config.normalizer)),
      metaspace_(std::move(config.metaspace)),
      decoder_(std::move(config.decoder)),
      byte_fallback_(config.byte_fallback),
      fuse_unk_(config.fuse_unk),
      ignore_merges_(config.ignore_merges),
      unk_id_(config.unk_id),
      prefix_ids_(std::move(config.prefix_ids)),
      suffix_ids_(std::move(config.suffix_ids)),
      bos_id_(config.bos_id),
      eos_id_(config.eos_id) {
  for (const auto& t : config.added_tokens) {
    if (!t.normalized) {
      raw_added_.add(t);
      continue;
    }
    // Matched in normalized text, so its content is normalized the same way.
    AddedToken normalized = t;
    normalized.content = normalizer_.apply(t.content);
    normalized_added_.add(normalized);
    decoded_form_[t.id] = normalized.content;
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    byte_token_[b] = static_cast<int32_t>(token_to_id(name));
  }
  if (byte_fallback_ && std::count(std::begin(byte_token_), std::end(byte_token_), -1) == 256)
    throw Error(source + ": byte_fallback is set but the vocabulary has no <0xNN> byte tokens");
  if (unk_id_ >= 0) id_to_token(unk_id_);  // throws for an unknown id
  vocab_.add_merges(config.merges, {}, source);
  for (int64_t id : prefix_ids_) id_to_token(id);
  for (int64_t id : suffix_ids_) id_to_token(id);
}

std::string SpBpeTokenizer::id_to_token(int64_t id) const {
  return vocab_.id_to_token(id, "SentencePiece-style BPE tokenizer");
}

bool SpBpeTokenizer::is_special(int64_t id) const {
  return vocab_.kind(id) == BpeVocabulary::kAddedSpecial;
}

// One symbol per character of the vocabulary; otherwise its bytes as <0xNN> tokens, otherwise
// the unknown token (or nothing, as tokenizers does without one).
std::vector<int32_t> SpBpeTokenizer::symbols_of(std::string_view word) const {
  std::vector<int32_t> symbols;
  symbols.reserve(word.size());
  bool last_unk = false;
  thread_local std::string ch;
  for (size_t i = 0; i < word.size();) {
    const size_t len = std::min(utf8_length(static_cast<unsigned char>(word[i])), word.size() - i);
    ch.assign(word.data() + i, len);
    i += len;
    if (const int64_t id = vocab_.model_token_id(ch); id >= 0) {
      symbols.push_back(static_cast<int32_t>(id));
      last_unk = false;
      continue;
    }
    if (byte_fallback_ && std::all_of(ch.begin(), ch.end(), [&](char c) {
          return byte_token_[static_cast<unsigned char>(c)] >= 0;
        })) {
      for (char c : ch) symbols.push_back(byte_token_[static_cast<unsigned char>(c)]);
      last_unk = false;
      continue;
    }
    if (unk_id_ < 0) continue;
    if (!(fuse_unk_ && last_unk)) symbols.push_back(static_cast<int32_t>(unk_id_));
    last_unk = true;
  }
  return symbols;
}

// The adjacent pair of lowest rank is merged first, the leftmost of equals, with a heap of
// candidate pairs over a linked list of symbols: O(n log n) for the long words of a
// SentencePiece-style tokenizer without pre-tokenization (a whole sentence is one word).
std::vector<int32_t> SpBpeTokenizer::merge(std::vector<int32_t> sym) const {
  const int n = static_cast<int>(sym.size());
  if (n < 2) return sym;
  std::vector<int> prev(n), next(n);
  for (int i = 0; i < n; ++i) prev[i] = i - 1, next[i] = i + 1 < n ? i + 1 : -1;
  struct Candidate {
    int32_t rank;
    int pos;
    int32_t merged;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto push = [&](int pos) {
    if (pos < 0 || next[pos] < 0) return;
    if (const auto* m = vocab_.find_merge(sym[pos], sym[next[pos]]))
      heap.push({m->rank, pos, m->merged});
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    const int right = sym[c.pos] >= 0 ? next[c.pos] : -1;
    if (right < 0) continue;  // merged away, or nothing to its right any more
    const auto* m = vocab_.find_merge(sym[c.pos], sym[right]);
    if (m == nullptr || m->rank != c.rank) continue;  // the pair at pos changed since
    sym[c.pos] = m->merged;
    sym[right] = -1;
    next[c.pos] = next[right];
    if (next[right] >= 0) prev[next[right]] = c.pos;
    push(prev[c.pos]);
    push(c.pos);
  }
  std::vector<int32_t> out;
  for (int i = 0; i >= 0; i = next[i]) out.push_back(sym[i]);
  return out;
}

void SpBpeTokenizer::append_word(std::string_view word, std::vector<int64_t>& ids) const {
  const bool cacheable = word.size() <= kMaxCachedWordBytes;
  thread_local std::string key;
  if (cacheable) {
    key.assign(word.data(), word.size());
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> symbols;
  if (ignore_merges_) {
    const int64_t id = vocab_.model_token_id(std::string(word));
    if (id >= 0) symbols.push_back(static_cast<int32_t>(id));
  }
  if (symbols.empty()) symbols = merge(symbols_of(word));
  ids.insert(ids.end(), symbols.begin(), symbols.end());
  if (!cacheable) return;
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= kMaxCachedPieceWords) cache_.clear();
  cache_.emplace(key, std::move(symbols));
}

// A normalized run between added tokens through the pre-tokenizer and the model. `at_start`:
// the run begins the input (Metaspace's "first" scheme prepends there only).
void SpBpeTokenizer::append_run(std::string_view text, bool at_start,
                                std::vector<int64_t>& ids) const {
  if (!metaspace_.enabled) return append_word(text, ids);
  const std::string& rep = metaspace_.replacement;
  std::string s = replace_all(text, " ", rep);
  using Prepend = SpBpeConfig::Metaspace::Prepend;
  const bool prepend =
      metaspace_.prepend == Prepend::kAlways || (metaspace_.prepend == Prepend::kFirst && at_start);
  if (prepend && s.compare(0, rep.size(), rep) != 0) s = rep + s;
  if (!metaspace_.split) return append_word(s, ids);
  // Each replacement character starts a new word (tokenizers' MergedWithNext).
  size_t begin = 0;
  for (size_t hit = s.find(rep, 1); hit != std::string::npos; hit = s.find(rep, hit + 1)) {
    if (hit > begin) append_word(std::string_view(s).substr(begin, hit - begin), ids);
    begin = hit;
  }
  if (begin < s.size()) append_word(std::string_view(s).substr(begin), ids);
}

std::vector<int64_t> SpBpeTokenizer::encode(const std::string& text, bool add_special) const {
  std::string repaired;
  const std::string_view valid = valid_utf8_view(text, repaired);
  std::vector<int64_t> ids;
  if (add_special) ids = prefix_ids_;
  for (const auto& raw : raw_added_.split(valid)) {
    if (raw.id >= 0) {
      ids.push_back(raw.id);
      continue;
    }
    const bool raw_at_start = raw.text.data() == valid.data();
    const std::string normalized = normalizer_.apply(raw.text);
    for (const auto& piece : normalized_added_.split(normalized)) {
      if (piece.id >= 0)
        ids.push_back(piece.id);
      else
        append_run(piece.text, raw_at_start && piece.text.data() == normalized.data(), ids);
    }
  }
  if (add_special) ids.insert(ids.end(), suffix_ids_.begin(), suffix_ids_.end());
  return ids;
}

std::string SpBpeTokenizer::decode(const std::vector<int64_t>& ids) const {
  return decode(ids, false);
}

std::string SpBpeTokenizer::decode(const std::vector<int64_t>& ids, bool skip_special) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int64_t id : ids) {
    std::string tok = id_to_token(id);
    if (skip_special && is_special(id)) continue;
    const auto normalized = decoded_form_.find(id);
    tokens.push_back(normalized != decoded_form_.end() ? normalized->second : std::move(tok));
  }
  return decoder_.decode(std::move(tokens));
}

}  // namespace lavender::text
