#include "lavender/text/bpe_vocabulary.h"

#include <algorithm>

#include "lavender/util/error.h"

namespace lavender::text {
namespace {

uint64_t pair_key(int32_t left, int32_t right) {
  return static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32 | static_cast<uint32_t>(right);
}

}  // namespace

BpeVocabulary::BpeVocabulary(std::unordered_map<std::string, int64_t> vocab,
                             const std::vector<AddedToken>& added, const std::string& source)
    : token_to_id_(std::move(vocab)) {
  int64_t max_id = -1;
  auto check_id = [&](const std::string& tok, int64_t id) {
    if (id < 0 || id >= (int64_t{1} << 30))
      throw Error(source + ": token \"" + tok + "\" has id " + std::to_string(id) +
                  ", outside 0..2^30");
    max_id = std::max(max_id, id);
  };
  for (const auto& [tok, id] : token_to_id_) check_id(tok, id);
  for (const auto& t : added) check_id(t.content, t.id);
  id_to_token_.assign(static_cast<size_t>(max_id + 1), "");
  kind_of_id_.assign(id_to_token_.size(), kUnused);
  for (const auto& [tok, id] : token_to_id_) {
    if (kind_of_id_[id] != kUnused)
      throw Error(source + ": id " + std::to_string(id) + " is given to both \"" +
                  id_to_token_[id] + "\" and \"" + tok + "\"");
    id_to_token_[id] = tok;
    kind_of_id_[id] = kModel;
  }
  for (const auto& t : added) {
    if (kind_of_id_[t.id] == kModel && id_to_token_[t.id] != t.content)
      throw Error(source + ": added token \"" + t.content + "\" reuses id " + std::to_string(t.id) +
                  " of \"" + id_to_token_[t.id] + "\"");
    id_to_token_[t.id] = t.content;
    kind_of_id_[t.id] = t.special ? kAddedSpecial : kAdded;
    token_to_id_.emplace(t.content, t.id);
  }
}

void BpeVocabulary::add_merges(const std::vector<std::pair<std::string, std::string>>& merges,
                               const std::vector<int32_t>& ranks, const std::string& source) {
  if (!ranks.empty() && ranks.size() != merges.size())
    throw Error(source + ": " + std::to_string(ranks.size()) + " merge ranks for " +
                std::to_string(merges.size()) + " merges");
  merges_.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const auto& [left, right] = merges[i];
    const int64_t a = token_to_id(left), b = token_to_id(right), ab = token_to_id(left + right);
    if (a < 0 || b < 0 || ab < 0)
      throw Error(source + ": merge " + std::to_string(i + 1) + " \"" + left + " " + right +
                  "\" uses or makes a token not in the vocabulary");
    const int32_t rank = ranks.empty() ? static_cast<int32_t>(i) : ranks[i];
    merges_.emplace(pair_key(static_cast<int32_t>(a), static_cast<int32_t>(b)),
                    Merge{rank, static_cast<int32_t>(ab)});
  }
}

int64_t BpeVocabulary::token_to_id(const std::string& token) const {
  const auto it = token_to_id_.find(token);
  return it == token_to_id_.end() ? -1 : it->second;
}

int64_t BpeVocabulary::model_token_id(const std::string& token) const {
  const int64_t id = token_to_id(token);
  return id >= 0 && kind_of_id_[id] == kModel ? id : -1;
}

const std::string& BpeVocabulary::id_to_token(int64_t id, const char* who) const {
  if (kind(id) == kUnused)
    throw Error(std::string(who) + ": id " + std::to_string(id) + " is not in the vocabulary");
  return id_to_token_[id];
}

BpeVocabulary::Kind BpeVocabulary::kind(int64_t id) const {
  return id >= 0 && static_cast<size_t>(id) < kind_of_id_.size()
             ? static_cast<Kind>(kind_of_id_[id])
             : kUnused;
}

const BpeVocabulary::Merge* BpeVocabulary::find_merge(int32_t left, int32_t right) const {
  const auto it = merges_.find(pair_key(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

}  // namespace lavender::text
