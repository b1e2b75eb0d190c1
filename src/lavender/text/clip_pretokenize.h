// The words CLIP's tokenizer BPE-encodes one by one: the text cleaned up and lower-cased as
// simple_tokenizer.py does, then split with CLIP's pattern (letters runs, single digits,
// punctuation runs, contractions). Defined next to ClipTokenizer::encode, which uses the same
// steps, so a vocabulary trained on these words matches what encode() looks up. Torch-free.
#pragma once

#include <string>
#include <vector>

namespace lavender::text {

// UTF-8 words, in text order; the specials "<|startoftext|>"/"<|endoftext|>" stay one word each.
std::vector<std::string> clip_pretokenize(const std::string& text);

}  // namespace lavender::text
