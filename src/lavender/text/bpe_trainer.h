// Learning BPE merges from a corpus's word counts (Sennrich et al. 2016): start from each word's
// initial symbols, repeatedly merge the most frequent adjacent pair (counted over the words,
// weighted by their counts) into one symbol, and record the merges in the order learnt — their
// rank. With no merge limit every word of the corpus ends as a single symbol, so a tokenizer
// built from the merges reads each corpus word as one token and any other word as smaller pieces.
//
// The trainer itself is generic (symbol sequences in, merges out); train_clip_bpe() applies it
// the way CLIP's tokenizer reads text (byte alphabet, "</w>" on a word's last symbol) and
// write_clip_tokenizer() writes vocab.json + merges.txt that load_clip_tokenizer() reads.
// Torch-free.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace lavender::text {

struct BpeWord {
  std::vector<std::string> symbols;  // initial symbols, in order
  int64_t count = 1;                 // how often the word occurs
};

struct BpeTrainOptions {
  int64_t max_merges = -1;  // < 0: until no pair is left (every word one symbol)
  int64_t min_count = 1;    // stop when the best pair occurs fewer times than this
};

using BpeMerges = std::vector<std::pair<std::string, std::string>>;

// Merges in rank order. Ties between equally frequent pairs go to the lexicographically smaller
// (left, right), so the result does not depend on the order of `words`.
BpeMerges learn_bpe_merges(std::vector<BpeWord> words, const BpeTrainOptions& options = {});

// A CLIP tokenizer's files: tokens in id order and merges in rank order.
struct ClipBpeVocab {
  std::vector<std::string> tokens;  // 256 bytes, 256 bytes + "</w>", merged symbols, specials
  BpeMerges merges;
};

// Word counts of texts as the CLIP tokenizer splits them (clean-up, lower-casing, CLIP's
// pattern), so the trainer sees exactly the words encode() will look up.
std::map<std::string, int64_t> clip_word_counts(const std::vector<std::string>& texts);

// Vocabulary as CLIP lays it out: GPT-2's byte alphabet, the same with "</w>", one token per
// merge (a merge whose result is already a token adds none), then <|startoftext|> and
// <|endoftext|>. Words are UTF-8 (as clip_word_counts gives them).
ClipBpeVocab train_clip_bpe(const std::map<std::string, int64_t>& word_counts,
                            const BpeTrainOptions& options = {});

// Writes `dir`/vocab.json and `dir`/merges.txt (with its "#version" header), creating `dir`.
// Throws lavender::Error naming the file when a write fails.
void write_clip_tokenizer(const std::string& dir, const ClipBpeVocab& vocab);

}  // namespace lavender::text
