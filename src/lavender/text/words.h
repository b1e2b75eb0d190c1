// Which word each token of a VLM's text belongs to, so the student's per-token attention can be
// averaged into per-word maps and matched with the teacher's words (METHOD.md: words matched
// by exact string after stripping; punctuation skipped).
//
// A token's surface is its text with the leading space the tokenizer encodes ("Ġcat" → " cat",
// "▁cat" → " cat"). A word is a maximal run of letters, digits and apostrophes inside a word
// (any non-ASCII byte counts as a letter); a token belongs to the first word it touches, and
// tokens without a letter or digit (spaces, punctuation, special tokens) belong to none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lavender/text/tokenizer.h"

namespace lavender::text {

// Surface text of one token id (special tokens give their own spelling, e.g. "<|eot_id|>").
std::string token_surface(const Tokenizer& tokenizer, int64_t id);

struct WordSegmentation {
  std::vector<std::string> words;  // lower-cased, in text order
  std::vector<int> word_of_token;  // per token: index into words, or -1
};

// `surfaces`: token_surface of each token in order. Tokens listed in `skip` (e.g. special and
// image tokens) belong to no word and end the word before them.
WordSegmentation segment_words(const std::vector<std::string>& surfaces,
                               const std::vector<bool>& skip = {});
WordSegmentation segment_words(const Tokenizer& tokenizer, const std::vector<int64_t>& ids);

}  // namespace lavender::text
