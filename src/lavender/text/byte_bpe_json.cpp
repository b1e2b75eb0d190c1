// Reading a byte-level BPE tokenizer from Hugging Face's tokenizer.json.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lavender/io/json_file.h"
#include "lavender/text/byte_bpe.h"
#include "lavender/util/error.h"

namespace lavender::text {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string type_of(const json& j) {
  return j.is_object() && j.contains("type") && j["type"].is_string() ? j["type"].get<std::string>()
                                                                      : "";
}

bool flag(const json& j, const char* key, bool fallback) {
  const auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

bool null_or_absent(const json& j, const char* key) {
  return !j.contains(key) || j[key].is_null();
}

// "a b" strings (older files) or ["a", "b"] pairs (tokenizers >= 0.20).
std::vector<std::pair<std::string, std::string>> parse_merges(const json& j,
                                                              const std::string& path) {
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

void read_model(const json& root, const std::string& path, ByteBpeConfig& config) {
  const auto it = root.find("model");
  if (it == root.end() || !it->is_object())
    throw Error(path + ": no \"model\" object (not a tokenizer.json)");
  const json& model = *it;
  const std::string type = type_of(model);
  if (type != "BPE")
    throw Error(path + ": model type \"" + type + "\" is not supported (only BPE)");
  if (flag(model, "byte_fallback", false))
    throw Error(path + ": BPE with byte_fallback (SentencePiece-style) is not supported");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (model.contains(key) && !model[key].is_null() &&
        !(model[key].is_string() && model[key].get<std::string>().empty()))
      throw Error(path + ": BPE model." + key + " is not supported by the byte-level BPE");
  if (model.contains("dropout") && model["dropout"].is_number() &&
      model["dropout"].get<double>() > 0)
    throw Error(path + ": BPE dropout is not supported");
  if (!model.contains("vocab") || !model["vocab"].is_object())
    throw Error(path + ": model.vocab is missing or not an object");
  for (const auto& [tok, id] : model["vocab"].items()) {
    if (!id.is_number_integer())
      throw Error(path + ": model.vocab: id of \"" + tok + "\" is not an integer");
    config.vocab.emplace(tok, id.get<int64_t>());
  }
  config.merges = parse_merges(model.contains("merges") ? model["merges"] : json(), path);
  config.ignore_merges = flag(model, "ignore_merges", false);
}

void read_added_tokens(const json& root, const std::string& path, ByteBpeConfig& config) {
  const auto it = root.find("added_tokens");
  if (it == root.end() || it->is_null()) return;
  if (!it->is_array()) throw Error(path + ": added_tokens is not an array");
  for (size_t i = 0; i < it->size(); ++i) {
    const json& t = (*it)[i];
    const std::string where = path + ": added_tokens[" + std::to_string(i) + "]";
    if (!t.is_object() || !t.contains("content") || !t["content"].is_string() ||
        !t.contains("id") || !t["id"].is_number_integer())
      throw Error(where + ": expected {\"id\": integer, \"content\": string, ...}");
    for (const char* key : {"single_word", "lstrip", "rstrip"})
      if (flag(t, key, false)) throw Error(where + ": \"" + key + "\": true is not supported");
    config.added_tokens.push_back(
        {t["content"].get<std::string>(), t["id"].get<int64_t>(), flag(t, "special", false)});
  }
}

void read_pre_tokenizer(const json& root, const std::string& path, ByteBpeConfig& config) {
  const json pre = root.value("pre_tokenizer", json());
  const std::string type = type_of(pre);
  // GPT-2: ByteLevel alone, splitting with its built-in pattern.
  if (type == "ByteLevel" && flag(pre, "use_regex", true)) {
    config.pattern = SplitPattern::kGpt2;
    config.add_prefix_space = flag(pre, "add_prefix_space", false);
    return;
  }
  // Llama 3: Sequence[Split(pattern, Isolated), ByteLevel(use_regex=false)].
  if (type == "Sequence" && pre.contains("pretokenizers") && pre["pretokenizers"].is_array() &&
      pre["pretokenizers"].size() == 2) {
    const json& split = pre["pretokenizers"][0];
    const json& byte_level = pre["pretokenizers"][1];
    const json pattern = split.is_object() ? split.value("pattern", json()) : json();
    const std::string regex =
        pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string()
            ? pattern["Regex"].get<std::string>()
            : "";
    if (type_of(split) == "Split" && split.value("behavior", json()) == "Isolated" &&
        !flag(split, "invert", false) && type_of(byte_level) == "ByteLevel" &&
        !flag(byte_level, "use_regex", true)) {
      for (SplitPattern p : {SplitPattern::kLlama3, SplitPattern::kGpt2})
        if (regex == split_pattern_regex(p)) {
          config.pattern = p;
          config.add_prefix_space = flag(byte_level, "add_prefix_space", false);
          return;
        }
      throw Error(path +
                  ": pre_tokenizer split pattern is not supported (only Llama 3's and "
                  "GPT-2's): " +
                  regex);
    }
  }
  throw Error(path + ": pre_tokenizer " + (type.empty() ? "null" : type) +
              " is not supported (expected ByteLevel, or Split with Llama 3's pattern followed "
              "by ByteLevel)");
}

// TemplateProcessing's "single" template: special tokens before and after the sequence.
void read_template(const json& p, const std::string& path, ByteBpeConfig& config) {
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
      (after ? config.suffix_ids : config.prefix_ids).push_back(id.get<int64_t>());
    }
  }
}

void read_post_processor(const json& p, const std::string& path, ByteBpeConfig& config) {
  if (p.is_null()) return;
  const std::string type = type_of(p);
  if (type == "ByteLevel") return;  // only adjusts offsets
  if (type == "TemplateProcessing") return read_template(p, path, config);
  if (type == "Sequence" && p.contains("processors") && p["processors"].is_array()) {
    for (const json& q : p["processors"]) read_post_processor(q, path, config);
    return;
  }
  throw Error(path + ": post_processor " + type +
              " is not supported (expected TemplateProcessing, ByteLevel or a Sequence of them)");
}

// "<s>" or {"content": "<s>", ...} in tokenizer_config.json; "" when absent.
std::string config_token(const json& cfg, const char* key) {
  const json t = cfg.is_object() ? cfg.value(key, json()) : json();
  if (t.is_string()) return t.get<std::string>();
  if (t.is_object() && t.contains("content") && t["content"].is_string())
    return t["content"].get<std::string>();
  return "";
}

int64_t first_known(const ByteBpeConfig& config, const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (name.empty()) continue;
    for (const auto& t : config.added_tokens)
      if (t.content == name) return t.id;
    if (auto it = config.vocab.find(name); it != config.vocab.end()) return it->second;
  }
  return -1;
}

std::unique_ptr<ByteBpeTokenizer> build(const json& root, const std::string& path) {
  if (!root.is_object()) throw Error(path + ": not a JSON object (not a tokenizer.json)");
  ByteBpeConfig config;
  read_model(root, path, config);
  if (!null_or_absent(root, "normalizer"))
    throw Error(path + ": normalizer " + type_of(root["normalizer"]) +
                " is not supported by the byte-level BPE");
  read_pre_tokenizer(root, path, config);
  read_added_tokens(root, path, config);
  read_post_processor(root.value("post_processor", json()), path, config);
  const std::string decoder = type_of(root.value("decoder", json()));
  if (!decoder.empty() && decoder != "ByteLevel")
    throw Error(path + ": decoder " + decoder + " is not supported (expected ByteLevel)");

  const fs::path cfg_path = fs::path(path).parent_path() / "tokenizer_config.json";
  const json cfg = fs::is_regular_file(cfg_path) ? io::read_json_file(cfg_path.string()) : json();
  config.bos_id = config.prefix_ids.empty()
                      ? first_known(config, {config_token(cfg, "bos_token"), "<|begin_of_text|>"})
                      : config.prefix_ids.front();
  config.eos_id =
      first_known(config, {config_token(cfg, "eos_token"), "<|end_of_text|>", "<|endoftext|>"});
  return std::make_unique<ByteBpeTokenizer>(std::move(config), path);
}

}  // namespace

std::unique_ptr<ByteBpeTokenizer> load_byte_bpe_tokenizer(const json& root,
                                                          const std::string& path) {
  try {
    return build(root, path);
  } catch (const json::exception& e) {
    // A field of an unexpected JSON type that no check above caught: still the file's fault.
    throw Error(path + ": unexpected tokenizer.json layout (" + e.what() + ")");
  }
}

std::unique_ptr<ByteBpeTokenizer> load_byte_bpe_tokenizer(const std::string& path) {
  return load_byte_bpe_tokenizer(io::read_json_file(path), path);
}

}  // namespace lavender::text
