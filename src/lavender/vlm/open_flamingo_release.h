// The root config.json of a downloaded OpenFlamingo release, written from its three parts (the
// release itself has none; lavender's describes the parts, the sizes and the token ids). Sizes
// come from the checkpoint's tensors (vlm/open_flamingo_sizes.h), the ids from the language
// model's tokenizer with the tokens upstream's factory adds (text/open_flamingo_tokens.h), and
// the folder gets that tokenizer as its tokenizer.json so that it stands alone.
#pragma once

#include <string>

#include "lavender/io/config/open_flamingo.h"
#include "lavender/vlm/open_flamingo_sizes.h"

namespace lavender::vlm {

struct OpenFlamingoReleaseOptions {
  std::string checkpoint;  // the release's checkpoint.pt
  std::string lang;        // the language model's folder (config.json, weights, tokenizer.json)
  std::string vision;      // the CLIP vision tower's folder (config.json, safetensors)
  std::string out;         // the folder that gets config.json and tokenizer.json
  OpenFlamingoSizeHints sizes;
  // Replace an existing config.json / tokenizer files that differ from the ones written.
  bool force = false;
};

struct OpenFlamingoReleaseResult {
  io::config::OpenFlamingoConfig config;
  int64_t base_tokens = 0;  // the language model's tokenizer before the added tokens
  bool pad_added = false;   // <PAD> was added (the tokenizer had no pad token)
  bool unchanged = false;   // the folder already held exactly these files
};

// Writes OUT/config.json, OUT/tokenizer.json (and OUT/tokenizer_config.json when the language
// model's folder has one). Parts inside OUT are named relative to it (the folder can move as a
// whole), others by their absolute path. The config is checked against the checkpoint and the
// parts' configs as the loader checks it before anything is written, so a wrong guess is an
// error naming the tensor and leaves OUT as it was; so is a tokenizer whose length with the
// added tokens is not the checkpoint's embedding rows. Existing files that differ are refused
// without `force` (a hand-edited config is not silently lost); files are replaced atomically,
// config.json last.
OpenFlamingoReleaseResult write_open_flamingo_config(const OpenFlamingoReleaseOptions& options);

}  // namespace lavender::vlm
