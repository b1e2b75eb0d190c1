// The tokens OpenFlamingo adds to its language model's tokenizer. The release ships no tokenizer
// of its own: upstream's factory loads the language model's and adds "<|endofchunk|>" and
// "<image>" as special tokens, then "<PAD>" when the tokenizer has no pad token, and resizes the
// embedding to the tokenizer's new length. A tokenizer of n tokens thus gives
// <|endofchunk|> = n, <image> = n + 1, <PAD> = n + 2 and n + 3 embedding rows. This repeats that
// on a tokenizer.json, so that a release folder gets the ids and a tokenizer that has them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace lavender::text {

struct OpenFlamingoTokens {
  int64_t eoc_token_id = -1;    // <|endofchunk|>
  int64_t media_token_id = -1;  // <image>
  int64_t pad_token_id = -1;    // the tokenizer's own pad token, or the added <PAD>
  bool pad_added = false;       // <PAD> was added (the tokenizer configured no pad token)
  int64_t base_length = 0;      // tokens before the additions (len(tokenizer) in transformers)
  int64_t length = 0;           // after them: the rows the release's embedding was resized to
  nlohmann::json tokenizer;     // the tokenizer.json with the tokens added
  // The folder's tokenizer_config.json, pad_token set when <PAD> was added; null when none.
  nlohmann::json tokenizer_config;
};

// Reads `lang_dir`'s tokenizer.json (and the tokenizer_config.json, special_tokens_map.json and
// added_tokens.json beside it, as transformers does) and adds the tokens as upstream's factory
// does: a token the tokenizer already has keeps its id, a new one takes the next id the
// tokenizers library gives. Throws lavender::Error naming the file when there is no
// tokenizer.json (saying where MPT-1B's comes from), it is not a BPE tokenizer.json, or its
// configured pad token is not one of its tokens.
OpenFlamingoTokens add_open_flamingo_tokens(const std::string& lang_dir);

}  // namespace lavender::text
