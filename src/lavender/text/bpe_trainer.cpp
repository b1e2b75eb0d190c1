#include "lavender/text/bpe_trainer.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_set>

#include "lavender/text/clip_pretokenize.h"
#include "lavender/text/clip_tokenizer.h"
#include "lavender/util/atomic_file.h"
#include "lavender/util/error.h"

namespace lavender::text {
namespace {

using Pair = std::pair<std::string, std::string>;

// Merges every non-overlapping occurrence of `p`, left to right (as BPE applies a merge).
void apply_merge(std::vector<std::string>& symbols, const Pair& p) {
  std::vector<std::string> out;
  out.reserve(symbols.size());
  for (size_t i = 0; i < symbols.size(); ++i) {
    if (i + 1 < symbols.size() && symbols[i] == p.first && symbols[i + 1] == p.second) {
      out.push_back(p.first + p.second);
      ++i;
    } else {
      out.push_back(std::move(symbols[i]));
    }
  }
  symbols = std::move(out);
}

}  // namespace

BpeMerges learn_bpe_merges(std::vector<BpeWord> words, const BpeTrainOptions& options) {
  BpeMerges merges;
  // Recounting all pairs each round is O(merges · symbols): fine for the corpora this serves
  // (a synthetic world's captions, a few thousand distinct words).
  while (options.max_merges < 0 || static_cast<int64_t>(merges.size()) < options.max_merges) {
    std::map<Pair, int64_t> counts;  // ordered: ties resolve to the smallest pair
    for (const auto& w : words)
      for (size_t i = 0; i + 1 < w.symbols.size(); ++i)
        counts[{w.symbols[i], w.symbols[i + 1]}] += w.count;
    const Pair* best = nullptr;
    int64_t best_count = 0;
    for (const auto& [p, c] : counts)
      if (c > best_count) {
        best = &p;
        best_count = c;
      }
    if (!best || best_count < std::max<int64_t>(options.min_count, 1)) break;
    const Pair chosen = *best;
    for (auto& w : words) apply_merge(w.symbols, chosen);
    merges.push_back(chosen);
  }
  return merges;
}

std::map<std::string, int64_t> clip_word_counts(const std::vector<std::string>& texts) {
  std::map<std::string, int64_t> counts;
  for (const auto& t : texts)
    for (auto& w : clip_pretokenize(t))
      if (w != "<|startoftext|>" && w != "<|endoftext|>") ++counts[w];
  return counts;
}

ClipBpeVocab train_clip_bpe(const std::map<std::string, int64_t>& word_counts,
                            const BpeTrainOptions& options) {
  const auto& alphabet = byte_alphabet();
  std::vector<BpeWord> words;
  for (const auto& [word, count] : word_counts) {
    if (word.empty() || count <= 0) continue;
    BpeWord w;
    for (unsigned char c : word) w.symbols.push_back(alphabet[c]);
    w.symbols.back() += "</w>";
    w.count = count;
    words.push_back(std::move(w));
  }
  ClipBpeVocab vocab;
  vocab.merges = learn_bpe_merges(std::move(words), options);
  std::unordered_set<std::string> seen;
  for (const auto& b : alphabet) vocab.tokens.push_back(b);
  for (const auto& b : alphabet) vocab.tokens.push_back(b + "</w>");
  seen.insert(vocab.tokens.begin(), vocab.tokens.end());
  for (const auto& [l, r] : vocab.merges)
    if (seen.insert(l + r).second) vocab.tokens.push_back(l + r);
  vocab.tokens.push_back("<|startoftext|>");
  vocab.tokens.push_back("<|endoftext|>");
  return vocab;
}

void write_clip_tokenizer(const std::string& dir, const ClipBpeVocab& vocab) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(dir + ": cannot create the tokenizer folder: " + ec.message());
  nlohmann::json v = nlohmann::json::object();
  for (size_t i = 0; i < vocab.tokens.size(); ++i) v[vocab.tokens[i]] = static_cast<int64_t>(i);
  // transformers' CLIPTokenizer writes this header line; the loader skips it.
  std::string merges = "#version: 0.2\n";
  for (const auto& [l, r] : vocab.merges) merges += l + " " + r + "\n";
  write_file_atomically(dir + "/vocab.json", v.dump());
  write_file_atomically(dir + "/merges.txt", merges);
}

}  // namespace lavender::text
