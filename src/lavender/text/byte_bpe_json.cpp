// Reading a byte-level BPE tokenizer from Hugging Face's tokenizer.json.
#include <nlohmann/json.hpp>

#include "lavender/io/json_file.h"
#include "lavender/text/byte_bpe.h"
#include "lavender/text/tokenizer_json.h"
#include "lavender/util/error.h"

namespace lavender::text {
namespace {

using nlohmann::json;
using tokenizer_json::flag;
using tokenizer_json::type_of;

void read_model(const json& root, const std::string& path, ByteBpeConfig& config) {
  const json& model = tokenizer_json::bpe_model(root, path);
  if (flag(model, "byte_fallback", false))
    throw Error(path + ": a byte-level BPE with byte_fallback is not supported");
  config.vocab = tokenizer_json::read_vocab(model, path);
  config.merges = tokenizer_json::read_merges(model, path);
  config.ignore_merges = flag(model, "ignore_merges", false);
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

std::unique_ptr<ByteBpeTokenizer> build(const json& root, const std::string& path) {
  if (!root.is_object()) throw Error(path + ": not a JSON object (not a tokenizer.json)");
  ByteBpeConfig config;
  read_model(root, path, config);
  if (root.contains("normalizer") && !root["normalizer"].is_null())
    throw Error(path + ": normalizer " + type_of(root["normalizer"]) +
                " is not supported by the byte-level BPE");
  read_pre_tokenizer(root, path, config);
  const json cfg = tokenizer_json::read_tokenizer_config(path);
  config.added_tokens = tokenizer_json::read_added_tokens(root, path, config.vocab, cfg);
  auto templ = tokenizer_json::read_post_processor(root.value("post_processor", json()), path);
  config.prefix_ids = std::move(templ.prefix_ids);
  config.suffix_ids = std::move(templ.suffix_ids);
  const std::string decoder = type_of(root.value("decoder", json()));
  if (!decoder.empty() && decoder != "ByteLevel")
    throw Error(path + ": decoder " + decoder + " is not supported (expected ByteLevel)");

  using tokenizer_json::config_token;
  using tokenizer_json::first_known;
  config.bos_id = config.prefix_ids.empty()
                      ? first_known(config.added_tokens, config.vocab,
                                    {config_token(cfg, "bos_token"), "<|begin_of_text|>"})
                      : config.prefix_ids.front();
  config.eos_id = first_known(config.added_tokens, config.vocab,
                              {config_token(cfg, "eos_token"), "<|end_of_text|>", "<|endoftext|>"});
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
