#include "lavender/text/open_flamingo_tokens.h"

#include <algorithm>
#include <filesystem>
#include <unordered_map>
#include <vector>

#include "lavender/io/json_file.h"
#include "lavender/text/tokenizer_json.h"
#include "lavender/util/error.h"

namespace lavender::text {
namespace {

namespace fs = std::filesystem;
namespace tj = tokenizer_json;

// The tokenizer's tokens as transformers sees them: the BPE model's vocabulary and the added
// tokens of tokenizer.json, tokenizer_config.json and added_tokens.json.
struct FlamingoBaseTokens {
  std::unordered_map<std::string, int64_t> vocab;
  std::vector<AddedToken> added;

  int64_t id_of(const std::string& content) const {
    for (const AddedToken& t : added)
      if (t.content == content) return t.id;
    const auto it = vocab.find(content);
    return it == vocab.end() ? -1 : it->second;
  }
  // len(tokenizer): the distinct tokens of the vocabulary and the added tokens.
  int64_t length() const {
    auto n = static_cast<int64_t>(vocab.size());
    for (const AddedToken& t : added)
      if (!vocab.count(t.content)) ++n;
    return n;
  }
  // The id the tokenizers library gives a token it does not have yet: the vocabulary's size, or
  // one past the highest added id when that is beyond the vocabulary.
  int64_t next_id() const {
    const auto size = static_cast<int64_t>(vocab.size());
    int64_t next = size;
    for (const AddedToken& t : added)
      if (t.id >= size) next = std::max(next, t.id + 1);
    return next;
  }
};

// Adds `content` as a special token unless the tokenizer has it (then it keeps its id, and is
// marked special as transformers' add_special_tokens does); returns its id.
int64_t add_flamingo_special(FlamingoBaseTokens& tokens, const std::string& content) {
  const int64_t existing = tokens.id_of(content);
  for (AddedToken& t : tokens.added)
    if (t.content == content) {
      t.special = true;
      return t.id;
    }
  AddedToken t;
  t.content = content;
  t.id = existing >= 0 ? existing : tokens.next_id();
  t.special = true;
  t.normalized = false;
  tokens.added.push_back(t);
  return t.id;
}

// "pad_token" of a tokenizer_config.json / special_tokens_map.json ("" when absent or null).
std::string flamingo_pad_in(const std::string& path) {
  if (!fs::is_regular_file(path)) return "";
  return tj::config_token(io::read_json_file(path), "pad_token");
}

// The pad token transformers would configure: tokenizer_config.json's, special_tokens_map.json's,
// or tokenizer.json's padding; "" when none.
std::string configured_flamingo_pad(const std::string& dir, const nlohmann::json& root,
                                    const nlohmann::json& tokenizer_config) {
  std::string pad = tj::config_token(tokenizer_config, "pad_token");
  if (pad.empty()) pad = flamingo_pad_in(dir + "/special_tokens_map.json");
  const nlohmann::json padding = root.value("padding", nlohmann::json());
  if (pad.empty() && padding.is_object() &&
      padding.value("pad_token", nlohmann::json()).is_string())
    pad = padding["pad_token"].get<std::string>();
  return pad;
}

nlohmann::json flamingo_added_tokens_json(std::vector<AddedToken> added) {
  std::sort(added.begin(), added.end(),
            [](const AddedToken& a, const AddedToken& b) { return a.id < b.id; });
  nlohmann::json out = nlohmann::json::array();
  for (const AddedToken& t : added)
    out.push_back({{"id", t.id},
                   {"content", t.content},
                   {"single_word", t.single_word},
                   {"lstrip", t.lstrip},
                   {"rstrip", t.rstrip},
                   {"normalized", t.normalized},
                   {"special", t.special}});
  return out;
}

}  // namespace

OpenFlamingoTokens add_open_flamingo_tokens(const std::string& lang_dir) {
  const std::string path = lang_dir + "/tokenizer.json";
  if (!fs::is_regular_file(path))
    throw Error(lang_dir +
                ": no tokenizer.json; OpenFlamingo uses its language model's tokenizer (for "
                "MPT-1B, the tokenizer.json of anas-awadalla/mpt-1b-redpajama-200b, which is "
                "EleutherAI/gpt-neox-20b's): put it, with its tokenizer_config.json, in " +
                lang_dir);
  OpenFlamingoTokens out;
  out.tokenizer = io::read_json_file(path);
  out.tokenizer_config = tj::read_tokenizer_config(path);
  FlamingoBaseTokens tokens;
  tokens.vocab = tj::read_vocab(tj::bpe_model(out.tokenizer, path), path);
  tokens.added = tj::read_added_tokens(out.tokenizer, path, tokens.vocab, out.tokenizer_config);
  out.base_length = tokens.length();

  // Upstream's order: the two Flamingo tokens in one call, then the pad token when missing.
  out.eoc_token_id = add_flamingo_special(tokens, "<|endofchunk|>");
  out.media_token_id = add_flamingo_special(tokens, "<image>");
  const std::string pad = configured_flamingo_pad(lang_dir, out.tokenizer, out.tokenizer_config);
  if (pad.empty()) {
    out.pad_token_id = add_flamingo_special(tokens, "<PAD>");
    out.pad_added = true;
    if (out.tokenizer_config.is_object()) out.tokenizer_config["pad_token"] = "<PAD>";
  } else {
    out.pad_token_id = tokens.id_of(pad);
    if (out.pad_token_id < 0)
      throw Error(lang_dir + ": the configured pad token \"" + pad + "\" is not a token of " +
                  path);
  }
  out.length = tokens.length();
  out.tokenizer["added_tokens"] = flamingo_added_tokens_json(tokens.added);
  return out;
}

}  // namespace lavender::text
