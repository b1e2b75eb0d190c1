// tokenizer.json's "decoder" for SentencePiece-style BPE: the steps Hugging Face tokenizers runs
// over the list of token strings to give text back. Supported: Sequence, Replace (a literal
// pattern), ByteFallback ("<0xE6>" tokens back to bytes; an invalid UTF-8 run becomes one U+FFFD
// per byte), Fuse, Strip, Metaspace. Anything else is refused by name when loading.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace lavender::text {

class TokenDecoder {
 public:
  // No decoder: tokens joined with spaces, as tokenizers does.
  TokenDecoder() = default;
  static TokenDecoder from_json(const nlohmann::json& spec, const std::string& path);

  std::string decode(std::vector<std::string> tokens) const;

 private:
  enum class Kind { kReplace, kByteFallback, kFuse, kStrip, kMetaspace };
  struct Step {
    Kind kind;
    std::string a, b;            // Replace: a -> b; Strip/Metaspace: a = the character
    size_t start = 0, stop = 0;  // Strip: how many leading / trailing copies of `a` to remove
    bool prepended = false;      // Metaspace: whether encoding prepended the replacement
  };
  void add(const nlohmann::json& spec, const std::string& path);
  static void run(const Step& step, std::vector<std::string>& tokens);

  std::vector<Step> steps_;
  bool has_steps_ = false;
};

}  // namespace lavender::text
