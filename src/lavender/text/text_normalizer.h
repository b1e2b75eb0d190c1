// tokenizer.json's "normalizer": the text clean-up Hugging Face tokenizers applies to each run of
// text between added tokens before pre-tokenization. Supported steps: Sequence, Prepend,
// Replace (a literal pattern), NFC, NFD, NFKC, NFKD, Lowercase, Strip. Anything else (a Replace
// by regex, Precompiled, BertNormalizer, ...) is refused by name when loading, never skipped.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace lavender::text {

class TextNormalizer {
 public:
  // The identity (tokenizer.json's "normalizer": null).
  TextNormalizer() = default;
  // Reads `spec`; `path` names the file in errors.
  static TextNormalizer from_json(const nlohmann::json& spec, const std::string& path);

  bool empty() const { return steps_.empty(); }
  std::string apply(std::string_view text) const;

 private:
  enum class Kind { kPrepend, kReplace, kNfc, kNfd, kNfkc, kNfkd, kLowercase, kStrip };
  struct Step {
    Kind kind;
    std::string a, b;                  // Prepend: a = prefix; Replace: a -> b
    bool left = false, right = false;  // Strip
  };
  void add(const nlohmann::json& spec, const std::string& path);

  std::vector<Step> steps_;
};

}  // namespace lavender::text
