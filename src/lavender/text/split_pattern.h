// Pre-tokenizer splits of byte-level BPE tokenizers, written by hand over code points because
// std::regex has no Unicode classes (\p{L}, \p{N}). Classes come from unicode.h (ICU), \s is the
// White_Space property, as in the regex engines tiktoken and Hugging Face tokenizers use.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lavender::text {

enum class SplitPattern {
  // Llama 3's (and the original cl100k_base's) pattern:
  //   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
  //   \s*[\r\n]+|\s+(?!\S)|\s+
  kLlama3,
  // GPT-2's pattern (ByteLevel pre-tokenizer with use_regex):
  //   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  kGpt2,
};

// The regex string a tokenizer.json gives for `pattern` (used to recognise it when loading).
const std::string& split_pattern_regex(SplitPattern pattern);

// Splits valid UTF-8 `text` into the pattern's consecutive matches ("Isolated" behaviour: the
// pieces cover the whole text). The views point into `text`.
std::vector<std::string_view> split_text(std::string_view text, SplitPattern pattern);

}  // namespace lavender::text
