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
constexpr size_t kMaxCachedWords = 1 << 17;
enum IdKind : uint8_t { kUnused, kModel, kAdded, kAddedSpecial };

uint64_t pair_key(int32_t left, int32_t right) {
  return static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32 | static_cast<uint32_t>(right);
}

size_t utf8_length(unsigned char lead) {
  return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
}

std::string replace_spaces(std::string_view text, const std::string& replacement) {
  std::string out;
  out.reserve(text.size() + 8);
  for (char c : text) {
    if (c == ' ')
      out += replacement;
    else
      out.push_back(c);
  }
  return out;
}

}  // namespace

SpBpeTokenizer::SpBpeTokenizer(SpBpeConfig config, const std::string& source)
    : token_to_id_(std::move(config.vocab)),
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
  int64_t max_id = -1;
  auto check_id = [&](const std::string& tok, int64_t id) {
    if (id < 0 || id >= (int64_t{1} << 30))
      throw Error(source + ": token \"" + tok + "\" has id " + std::to_string(id) +
                  ", outside 0..2^30");
    max_id = std::max(max_id, id);
  };
  for (const auto& [tok, id] : token_to_id_) check_id(tok, id);
  for (const auto& t : config.added_tokens) check_id(t.content, t.id);
  id_to_token_.assign(static_cast<size_t>(max_id + 1), "");
  kind_of_id_.assign(id_to_token_.size(), kUnused);
  for (const auto& [tok, id] : token_to_id_) {
    if (kind_of_id_[id] != kUnused)
      throw Error(source + ": id " + std::to_string(id) + " is given to both \"" +
                  id_to_token_[id] + "\" and \"" + tok + "\"");
    id_to_token_[id] = tok;
    kind_of_id_[id] = kModel;
  }
  for (const auto& t : config.added_tokens) {
    if (kind_of_id_[t.id] == kModel && id_to_token_[t.id] != t.content)
      throw Error(source + ": added token \"" + t.content + "\" reuses id " + std::to_string(t.id) +
                  " of \"" + id_to_token_[t.id] + "\"");
    id_to_token_[t.id] = t.content;
    kind_of_id_[t.id] = t.special ? kAddedSpecial : kAdded;
    token_to_id_.emplace(t.content, t.id);
    if (!t.normalized) {
      raw_added_.add(t);
    } else {
      // Matched in normalized text, so its content is normalized the same way.
      AddedToken normalized = t;
      normalized.content = normalizer_.apply(t.content);
      normalized_added_.add(normalized);
      decoded_form_[t.id] = normalized.content;
    }
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    const int64_t id = token_to_id(name);
    byte_token_[b] = static_cast<int32_t>(id);
  }
  if (byte_fallback_ && std::count(std::begin(byte_token_), std::end(byte_token_), -1) == 256)
    throw Error(source + ": byte_fallback is set but the vocabulary has no <0xNN> byte tokens");
  if (unk_id_ >= 0) id_to_token(unk_id_);  // throws for an unknown id
  merges_.reserve(config.merges.size());
  for (size_t i = 0; i < config.merges.size(); ++i) {
    const auto& [left, right] = config.merges[i];
    const int64_t a = token_to_id(left), b = token_to_id(right), ab = token_to_id(left + right);
    if (a < 0 || b < 0 || ab < 0)
      throw Error(source + ": merge " + std::to_string(i + 1) + " \"" + left + " " + right +
                  "\" uses or makes a token not in the vocabulary");
    // A repeated pair keeps its first (lowest) rank, as HF's merge map does.
    merges_.emplace(pair_key(static_cast<int32_t>(a), static_cast<int32_t>(b)),
                    Merge{static_cast<int32_t>(i), static_cast<int32_t>(ab)});
  }
  for (int64_t id : prefix_ids_) id_to_token(id);
  for (int64_t id : suffix_ids_) id_to_token(id);
}

int64_t SpBpeTokenizer::token_to_id(const std::string& token) const {
  auto it = token_to_id_.find(token);
  return it == token_to_id_.end() ? -1 : it->second;
}

std::string SpBpeTokenizer::id_to_token(int64_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() || kind_of_id_[id] == kUnused)
    throw Error("SentencePiece-style BPE tokenizer: id " + std::to_string(id) +
                " is not in the vocabulary");
  return id_to_token_[id];
}

bool SpBpeTokenizer::is_special(int64_t id) const {
  return id >= 0 && static_cast<size_t>(id) < kind_of_id_.size() &&
         kind_of_id_[id] == kAddedSpecial;
}

const SpBpeTokenizer::Merge* SpBpeTokenizer::find_merge(int32_t left, int32_t right) const {
  auto it = merges_.find(pair_key(left, right));
  return it == merges_.end() ? nullptr : &it->second;
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
    const auto it = token_to_id_.find(ch);
    if (it != token_to_id_.end() && kind_of_id_[it->second] == kModel) {
      symbols.push_back(static_cast<int32_t>(it->second));
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
    if (const Merge* m = find_merge(sym[pos], sym[next[pos]])) heap.push({m->rank, pos, m->merged});
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    const int right = sym[c.pos] >= 0 ? next[c.pos] : -1;
    if (right < 0) continue;  // merged away, or nothing to its right any more
    const Merge* m = find_merge(sym[c.pos], sym[right]);
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
    const auto it = token_to_id_.find(std::string(word));
    if (it != token_to_id_.end() && kind_of_id_[it->second] == kModel)
      symbols.push_back(static_cast<int32_t>(it->second));
  }
  if (symbols.empty()) symbols = merge(symbols_of(word));
  ids.insert(ids.end(), symbols.begin(), symbols.end());
  if (!cacheable) return;
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= kMaxCachedWords) cache_.clear();
  cache_.emplace(key, std::move(symbols));
}

// A normalized run between added tokens through the pre-tokenizer and the model. `at_start`:
// the run begins the input (Metaspace's "first" scheme prepends there only).
void SpBpeTokenizer::append_run(std::string_view text, bool at_start,
                                std::vector<int64_t>& ids) const {
  if (!metaspace_.enabled) return append_word(text, ids);
  const std::string& rep = metaspace_.replacement;
  std::string s = replace_spaces(text, rep);
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
  std::string_view valid = text;
  if (u32_to_utf8(utf8_to_u32(text)) != text) {  // invalid UTF-8 -> U+FFFD, never a throw
    repaired = u32_to_utf8(utf8_to_u32(text));
    valid = repaired;
  }
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
    if (skip_special && kind_of_id_[id] == kAddedSpecial) continue;
    const auto normalized = decoded_form_.find(id);
    tokens.push_back(normalized != decoded_form_.end() ? normalized->second : std::move(tok));
  }
  return decoder_.decode(std::move(tokens));
}

}  // namespace lavender::text
