// The id tables both BPE tokenizers of tokenizer.json keep (byte-level and SentencePiece-style):
// token <-> id for the model's vocabulary and the added tokens, what kind each id is, and the
// merge table (pair of ids -> rank and merged id). Built once with every check that the file is
// consistent, each failure naming the file.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lavender/text/added_tokens.h"

namespace lavender::text {

class BpeVocabulary {
 public:
  enum Kind : uint8_t { kUnused, kModel, kAdded, kAddedSpecial };
  struct Merge {
    int32_t rank;
    int32_t merged;
  };

  // Ids must lie in 0..2^30 and be unique; an added token may repeat a vocabulary entry with
  // its id, any other clash is an error. `source` names the file in errors.
  BpeVocabulary(std::unordered_map<std::string, int64_t> vocab,
                const std::vector<AddedToken>& added, const std::string& source);
  // Merges in rank order (or with explicit `ranks`, tiktoken's several pairs per rank); both
  // sides and their join must be in the vocabulary. A repeated pair keeps its first rank, as
  // HF's merge map does.
  void add_merges(const std::vector<std::pair<std::string, std::string>>& merges,
                  const std::vector<int32_t>& ranks, const std::string& source);

  int64_t token_to_id(const std::string& token) const;  // -1 when absent
  // The model's own token (not an added one) spelled `token`, or -1.
  int64_t model_token_id(const std::string& token) const;
  // Throws lavender::Error, saying `who` had no such id.
  const std::string& id_to_token(int64_t id, const char* who) const;
  Kind kind(int64_t id) const;  // kUnused outside the table
  size_t size() const { return id_to_token_.size(); }
  const Merge* find_merge(int32_t left, int32_t right) const;

 private:
  std::unordered_map<std::string, int64_t> token_to_id_;
  std::vector<std::string> id_to_token_;
  std::vector<uint8_t> kind_of_id_;
  std::unordered_map<uint64_t, Merge> merges_;  // key: left id << 32 | right id
};

}  // namespace lavender::text
