#include "lavender/text/tokenizer_json.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "lavender/io/json_file.h"
#include "lavender/util/error.h"

namespace lavender::text::tokenizer_json {
namespace {

namespace fs = std::filesystem;

AddedToken parse_added_token(const json& t, const std::string& where, int64_t id) {
  if (!t.is_object() || !t.contains("content") || !t["content"].is_string())
    throw Error(where + ": expected {\"content\": string, ...}");
  AddedToken token;
  token.content = t["content"].get<std::string>();
  token.id = id;
  token.special = flag(t, "special", false);
  token.single_word = flag(t, "single_word", false);
  token.lstrip = flag(t, "lstrip", false);
  token.rstrip = flag(t, "rstrip", false);
  // tokenizers' default: special tokens are matched raw, others after normalization.
  token.normalized = flag(t, "normalized", !token.special);
  return token;
}

// Adds `token` unless the same content already has the same id; a clash is an error.
void merge_token(std::vector<AddedToken>& tokens, AddedToken token, const std::string& where,
                 const std::string& first_file) {
  for (const AddedToken& t : tokens) {
    if (t.content == token.content && t.id == token.id) return;
    if (t.content == token.content || t.id == token.id)
      throw Error(where + ": \"" + token.content + "\" with id " + std::to_string(token.id) +
                  " contradicts \"" + t.content + "\" with id " + std::to_string(t.id) + " in " +
                  first_file);
  }
  tokens.push_back(std::move(token));
}

}  // namespace

std::string type_of(const json& j) {
  return j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>()
                                                                      : "";
}

bool flag(const json& j, const char* key, bool fallback) {
  if (!j.is_object()) return fallback;
  const auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

const json& bpe_model(const json& root, const std::string& path) {
  const auto it = root.find("model");
  if (it == root.end() || !it->is_object())
    throw Error(path + ": no \"model\" object (not a tokenizer.json)");
  const json& model = *it;
  const std::string type = type_of(model);
  if (type != "BPE")
    throw Error(path + ": model type \"" + type +
                "\" is not supported (only BPE; SentencePiece Unigram files are not)");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.contains(key) && !model[key].is_null() &&
        !(model[key].is_string() && model[key].get<std::string>().empty()))
      throw Error(path + ": BPE model." + key + " is not supported");
  if (model.contains("dropout") && model["dropout"].is_number() &&
      model["dropout"].get<double>() > 0)
    throw Error(path + ": BPE dropout is not supported");
  return model;
}

std::unordered_map<std::string, int64_t> read_vocab(const json& model, const std::string& path) {
  if (!model.contains("vocab") || !model["vocab"].is_object())
    throw Error(path + ": model.vocab is missing or not an object");
  std::unordered_map<std::string, int64_t> vocab;
  vocab.reserve(model["vocab"].size());
  for (const auto& [tok, id] : model["vocab"].items()) {
    if (!id.is_number_integer())
      throw Error(path + ": model.vocab: id of \"" + tok + "\" is not an integer");
    vocab.emplace(tok, id.get<int64_t>());
  }
  return vocab;
}

std::vector<std::pair<std::string, std::string>> read_merges(const json& model,
                                                             const std::string& path) {
  const json none;
  const json& j = model.contains("merges") ? model["merges"] : none;
  if (!j.is_array()) throw Error(path + ": model.merges is not an array");
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    const json& m = j[i];
    if (m.is_string()) {
      const std::string& s = m.get_ref<const std::string&>();
      const size_t space = s.find(' ');
      if (space != std::string::npos && space > 0 && space + 1 < s.size() &&
          s.find(' ', space + 1) == std::string::npos) {
        merges.emplace_back(s.substr(0, space), s.substr(space + 1));
        continue;
      }
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      continue;
    }
    throw Error(path + ": model.merges[" + std::to_string(i) +
                "]: expected \"LEFT RIGHT\" or [LEFT, RIGHT]");
  }
  return merges;
}

json read_tokenizer_config(const std::string& path) {
  const fs::path cfg = fs::path(path).parent_path() / "tokenizer_config.json";
  return fs::is_regular_file(cfg) ? io::read_json_file(cfg.string()) : json();
}

std::vector<AddedToken> read_added_tokens(const json& root, const std::string& path,
                                          const std::unordered_map<std::string, int64_t>& vocab,
                                          const json& tokenizer_config) {
  std::vector<AddedToken> tokens;
  const auto it = root.find("added_tokens");
  if (it != root.end() && !it->is_null()) {
    if (!it->is_array()) throw Error(path + ": added_tokens is not an array");
    // tokenizers ignores the ids written here: a token already in the vocabulary keeps its id,
    // the others are numbered on from the vocabulary's size in file order. A file whose ids
    // differ would be tokenized with other ids than the model was trained with: refuse it.
    const auto vocab_size = static_cast<int64_t>(vocab.size());
    int64_t max_id = -1;
    for (size_t i = 0; i < it->size(); ++i) {
      const json& t = (*it)[i];
      const std::string where = path + ": added_tokens[" + std::to_string(i) + "]";
      if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer())
        throw Error(where + ": expected {\"id\": integer, \"content\": string, ...}");
      AddedToken token = parse_added_token(t, where, t["id"].get<int64_t>());
      const auto in_vocab = vocab.find(token.content);
      const int64_t library_id = in_vocab != vocab.end() ? in_vocab->second
                                 : max_id < 0            ? vocab_size
                                 : max_id >= vocab_size  ? max_id + 1
                                                         : vocab_size;
      if (token.id != library_id)
        throw Error(where + ": \"" + token.content + "\" has id " + std::to_string(token.id) +
                    " but the tokenizers library gives it " + std::to_string(library_id) +
                    " (added tokens not in the vocabulary must follow it without gaps)");
      max_id = std::max(max_id, library_id);
      merge_token(tokens, std::move(token), where, path);
    }
  }
  const fs::path dir = fs::path(path).parent_path();
  const std::string cfg_path = (dir / "tokenizer_config.json").string();
  const json decoder = tokenizer_config.is_object()
                           ? tokenizer_config.value("added_tokens_decoder", json())
                           : json();
  if (decoder.is_object()) {
    // Ids as numbers, so that they are added in id order whatever the JSON's key order.
    std::map<int64_t, const json*> by_id;
    for (const auto& [key, t] : decoder.items()) {
      size_t used = 0;
      int64_t id = -1;
      try {
        id = std::stoll(key, &used);
      } catch (const std::exception&) {
      }
      if (used != key.size() || id < 0)
        throw Error(cfg_path + ": added_tokens_decoder: key \"" + key + "\" is not an id");
      by_id[id] = &t;
    }
    for (const auto& [id, t] : by_id) {
      const std::string where = cfg_path + ": added_tokens_decoder[\"" + std::to_string(id) + "\"]";
      merge_token(tokens, parse_added_token(*t, where, id), where, path);
    }
  }
  const fs::path added_json = dir / "added_tokens.json";
  if (fs::is_regular_file(added_json)) {
    const json j = io::read_json_file(added_json.string());
    if (!j.is_object()) throw Error(added_json.string() + ": expected {\"token\": id, ...}");
    for (const auto& [content, id] : j.items()) {
      const std::string where = added_json.string() + ": \"" + content + "\"";
      if (!id.is_number_integer() || id.get<int64_t>() < 0)
        throw Error(where + ": the id is not a non-negative integer");
      AddedToken t;
      t.content = content;
      t.id = id.get<int64_t>();
      t.special = true;
      merge_token(tokens, std::move(t), where, path);
    }
  }
  return tokens;
}

namespace {

// TemplateProcessing's "single" template: special tokens before and after the sequence.
void read_template(const json& p, const std::string& path, Template& out) {
  const json single = p.value("single", json());
  const json specials = p.value("special_tokens", json::object());
  if (!single.is_array()) throw Error(path + ": post_processor.single is not an array");
  bool after = false;
  for (const json& piece : single) {
    if (piece.contains("Sequence")) {
      const json& seq = piece["Sequence"];
      if (!seq.is_object() || seq.value("id", json()) != "A")
        throw Error(path + ": post_processor.single uses a sequence other than A");
      after = true;
      continue;
    }
    const json tok = piece.value("SpecialToken", json());
    const std::string name = tok.is_object() && tok.contains("id") && tok["id"].is_string()
                                 ? tok["id"].get<std::string>()
                                 : "";
    const json entry = specials.is_object() ? specials.value(name, json()) : json();
    if (!entry.is_object() || !entry.contains("ids") || !entry["ids"].is_array())
      throw Error(path + ": post_processor: special token \"" + name + "\" has no ids");
    for (const json& id : entry["ids"]) {
      if (!id.is_number_integer())
        throw Error(path + ": post_processor: special token \"" + name + "\" has a bad id");
      (after ? out.suffix_ids : out.prefix_ids).push_back(id.get<int64_t>());
    }
  }
}

void read_post_processor_into(const json& p, const std::string& path, Template& out) {
  if (p.is_null()) return;
  const std::string type = type_of(p);
  if (type == "ByteLevel") return;  // only adjusts offsets
  if (type == "TemplateProcessing") return read_template(p, path, out);
  if (type == "Sequence" && p.contains("processors") && p["processors"].is_array()) {
    for (const json& q : p["processors"]) read_post_processor_into(q, path, out);
    return;
  }
  throw Error(path + ": post_processor " + type +
              " is not supported (expected TemplateProcessing, ByteLevel or a Sequence of them)");
}

}  // namespace

Template read_post_processor(const json& post_processor, const std::string& path) {
  Template t;
  read_post_processor_into(post_processor, path, t);
  return t;
}

std::string config_token(const json& tokenizer_config, const char* key) {
  const json t = tokenizer_config.is_object() ? tokenizer_config.value(key, json()) : json();
  if (t.is_string()) return t.get<std::string>();
  if (t.is_object() && t.contains("content") && t["content"].is_string())
    return t["content"].get<std::string>();
  return "";
}

int64_t first_known(const std::vector<AddedToken>& added,
                    const std::unordered_map<std::string, int64_t>& vocab,
                    const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (name.empty()) continue;
    for (const auto& t : added)
      if (t.content == name) return t.id;
    if (auto it = vocab.find(name); it != vocab.end()) return it->second;
  }
  return -1;
}

}  // namespace lavender::text::tokenizer_json
