// Reading a SentencePiece-style BPE tokenizer from Hugging Face's tokenizer.json.
#include <nlohmann/json.hpp>

#include "lavender/text/sp_bpe.h"
#include "lavender/text/tokenizer_json.h"
#include "lavender/util/error.h"

namespace lavender::text {
namespace {

using nlohmann::json;
using tokenizer_json::flag;
using tokenizer_json::type_of;

bool mentions_byte_level(const json& j) {
  if (type_of(j) == "ByteLevel") return true;
  if (j.is_object())
    for (const auto& [key, value] : j.items())
      if ((value.is_array() || value.is_object()) && mentions_byte_level(value)) return true;
  if (j.is_array())
    for (const json& v : j)
      if (mentions_byte_level(v)) return true;
  return false;
}

void read_model(const json& root, const std::string& path, SpBpeConfig& config) {
  const json& model = tokenizer_json::bpe_model(root, path);
  config.vocab = tokenizer_json::read_vocab(model, path);
  config.merges = tokenizer_json::read_merges(model, path);
  config.byte_fallback = flag(model, "byte_fallback", false);
  config.fuse_unk = flag(model, "fuse_unk", false);
  config.ignore_merges = flag(model, "ignore_merges", false);
  const json unk = model.value("unk_token", json());
  if (unk.is_string()) {
    const auto found = config.vocab.find(unk.get<std::string>());
    if (found == config.vocab.end())
      throw Error(path + ": model.unk_token \"" + unk.get<std::string>() +
                  "\" is not in the vocabulary");
    config.unk_id = found->second;
  }
}

void read_pre_tokenizer(const json& pre, const std::string& path, SpBpeConfig& config) {
  if (pre.is_null()) return;
  const std::string type = type_of(pre);
  if (type != "Metaspace")
    throw Error(path + ": pre_tokenizer " + (type.empty() ? "?" : type) +
                " is not supported with a SentencePiece-style BPE (expected null or Metaspace)");
  auto& m = config.metaspace;
  m.enabled = true;
  if (pre.contains("replacement")) {
    if (!pre["replacement"].is_string() || pre["replacement"].get<std::string>().empty())
      throw Error(path + ": pre_tokenizer Metaspace: replacement is not a character");
    m.replacement = pre["replacement"].get<std::string>();
  }
  using Prepend = SpBpeConfig::Metaspace::Prepend;
  const json scheme = pre.value("prepend_scheme", json());
  if (scheme.is_string()) {
    const std::string s = scheme.get<std::string>();
    if (s == "always")
      m.prepend = Prepend::kAlways;
    else if (s == "first")
      m.prepend = Prepend::kFirst;
    else if (s == "never")
      m.prepend = Prepend::kNever;
    else
      throw Error(path + ": pre_tokenizer Metaspace: prepend_scheme \"" + s +
                  "\" is not always, first or never");
  } else {
    // Files written before tokenizers 0.19 say add_prefix_space instead.
    m.prepend = flag(pre, "add_prefix_space", true) ? Prepend::kAlways : Prepend::kNever;
  }
  m.split = flag(pre, "split", true);
}

std::unique_ptr<SpBpeTokenizer> build(const json& root, const std::string& path) {
  if (!root.is_object()) throw Error(path + ": not a JSON object (not a tokenizer.json)");
  SpBpeConfig config;
  read_model(root, path, config);
  config.normalizer = TextNormalizer::from_json(root.value("normalizer", json()), path);
  read_pre_tokenizer(root.value("pre_tokenizer", json()), path, config);
  config.decoder = TokenDecoder::from_json(root.value("decoder", json()), path);
  const json cfg = tokenizer_json::read_tokenizer_config(path);
  config.added_tokens = tokenizer_json::read_added_tokens(root, path, config.vocab, cfg);
  auto templ = tokenizer_json::read_post_processor(root.value("post_processor", json()), path);

  using tokenizer_json::config_token;
  using tokenizer_json::first_known;
  config.bos_id =
      first_known(config.added_tokens, config.vocab, {config_token(cfg, "bos_token"), "<s>"});
  config.eos_id =
      first_known(config.added_tokens, config.vocab, {config_token(cfg, "eos_token"), "</s>"});
  // LlamaTokenizerFast rebuilds the template from add_bos_token / add_eos_token when the
  // config sets them; otherwise the file's template stands.
  const bool has_bos_flag =
      cfg.is_object() && cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean();
  const bool has_eos_flag =
      cfg.is_object() && cfg.contains("add_eos_token") && cfg["add_eos_token"].is_boolean();
  if (has_bos_flag || has_eos_flag) {
    templ = {};
    if (flag(cfg, "add_bos_token", true) && config.bos_id >= 0)
      templ.prefix_ids.push_back(config.bos_id);
    if (flag(cfg, "add_eos_token", false) && config.eos_id >= 0)
      templ.suffix_ids.push_back(config.eos_id);
  }
  config.prefix_ids = std::move(templ.prefix_ids);
  config.suffix_ids = std::move(templ.suffix_ids);
  return std::make_unique<SpBpeTokenizer>(std::move(config), path);
}

}  // namespace

bool is_sp_bpe_json(const json& root) {
  return root.is_object() && !mentions_byte_level(root.value("pre_tokenizer", json())) &&
         !mentions_byte_level(root.value("decoder", json()));
}

std::unique_ptr<SpBpeTokenizer> load_sp_bpe_tokenizer(const json& root, const std::string& path) {
  try {
    return build(root, path);
  } catch (const json::exception& e) {
    throw Error(path + ": unexpected tokenizer.json layout (" + e.what() + ")");
  }
}

}  // namespace lavender::text
