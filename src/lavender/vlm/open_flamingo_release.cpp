#include "lavender/vlm/open_flamingo_release.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "lavender/io/json_file.h"
#include "lavender/io/torch_pickle.h"
#include "lavender/text/open_flamingo_tokens.h"
#include "lavender/util/atomic_file.h"
#include "lavender/util/error.h"
#include "lavender/vlm/open_flamingo.h"

namespace lavender::vlm {
namespace {

namespace fs = std::filesystem;

fs::path absolute_part(const std::string& path) {
  std::string s = fs::absolute(path).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

// How config.json names a part: relative to OUT when it lies inside OUT (symbolic links are not
// followed, so a link in OUT counts as inside), else its absolute path.
std::string release_part_entry(const std::string& part, const std::string& out) {
  const fs::path rel = absolute_part(part).lexically_relative(absolute_part(out));
  if (!rel.empty() && *rel.begin() != "..") return rel.string();
  return absolute_part(part).string();
}

void require_release_part(const std::string& path, bool folder, const std::string& flag) {
  const bool ok = folder ? fs::is_regular_file(path + "/config.json") : fs::is_regular_file(path);
  if (!ok)
    throw Error(flag + " " + path + ": " +
                (folder ? "no such folder with a config.json" : "no such file"));
}

// The checkpoint's embedding rows are len(tokenizer) after the release added its tokens; a
// tokenizer of another length is not the one the checkpoint was made with, and its ids would be
// wrong.
void check_release_vocabulary(const io::config::OpenFlamingoConfig& c,
                              const text::OpenFlamingoTokens& tokens,
                              const io::config::MptConfig& lang,
                              const OpenFlamingoReleaseOptions& o) {
  const std::string tokenizer = o.lang + "/tokenizer.json";
  if (c.vocab_size && *c.vocab_size != tokens.length)
    throw Error(o.checkpoint + ": lang_encoder.transformer.wte.weight has " +
                std::to_string(*c.vocab_size) + " rows, but " + tokenizer + " has " +
                std::to_string(tokens.base_length) + " tokens and " +
                std::to_string(tokens.length) + " with <|endofchunk|>, <image>" +
                (tokens.pad_added ? ", <PAD>" : "") +
                " added: not the tokenizer this checkpoint was trained with");
  const int64_t rows = c.vocab_size.value_or(lang.vocab_size);
  if (tokens.length > rows)
    throw Error(tokenizer + ": " + std::to_string(tokens.length) +
                " tokens with the added ones, more than the language model's " +
                std::to_string(rows) + " embedding rows");
}

// The config's JSON: the token ids, the parts' names, and cross_attn_every_n_layers dropped when
// the gated blocks follow no such rule (gated_xattn_layers alone then says which they are).
nlohmann::ordered_json release_config_json(const io::config::OpenFlamingoConfig& c,
                                           int64_t decoder_layers) {
  nlohmann::ordered_json j = io::config::open_flamingo_config_json(c);
  if (c.gated_xattn_layers) {
    io::config::OpenFlamingoConfig rule = c;
    rule.gated_xattn_layers.reset();
    if (io::config::gated_layer_indices(rule, decoder_layers) != *c.gated_xattn_layers)
      j.erase("cross_attn_every_n_layers");
  }
  return j;
}

struct ReleaseFile {
  std::string path;
  nlohmann::json content;
};

// True when `path` already holds `content`; an existing file that differs is an error unless
// `force`.
bool release_file_unchanged(const ReleaseFile& f, bool force) {
  if (!fs::exists(f.path)) return false;
  nlohmann::json existing;
  try {
    existing = io::read_json_file(f.path);
  } catch (const Error&) {
  }
  if (existing == f.content) return true;
  if (!force)
    throw Error(f.path +
                " exists and differs from the one this release gives (a hand-written "
                "or edited file?); --force replaces it");
  return false;
}

}  // namespace

OpenFlamingoReleaseResult write_open_flamingo_config(const OpenFlamingoReleaseOptions& o) {
  require_release_part(o.checkpoint, false, "--checkpoint");
  require_release_part(o.lang, true, "--lang");
  require_release_part(o.vision, true, "--vision");
  if (o.out.empty()) throw Error("--out: no folder given");
  if (fs::exists(o.out) && fs::equivalent(o.out, o.lang))
    throw Error("--out " + o.out +
                " is the language model's folder, whose tokenizer.json would "
                "be replaced; write the config to another folder");

  // The cheap reads first, so that a wrong folder is reported before gigabytes are read.
  const io::config::MptConfig lang = load_open_flamingo_lang_config(o.lang + "/config.json");
  const text::OpenFlamingoTokens tokens = text::add_open_flamingo_tokens(o.lang);
  const auto checkpoint = io::load_torch_pickle(o.checkpoint);

  OpenFlamingoReleaseResult result;
  io::config::OpenFlamingoConfig& c = result.config;
  c = infer_open_flamingo_sizes(checkpoint, o.checkpoint, lang.n_layers, o.sizes);
  check_release_vocabulary(c, tokens, lang, o);
  c.eoc_token_id = tokens.eoc_token_id;
  c.media_token_id = tokens.media_token_id;
  c.pad_token_id = tokens.pad_token_id;
  c.vision = release_part_entry(o.vision, o.out);
  c.lang = release_part_entry(o.lang, o.out);
  c.checkpoint = release_part_entry(o.checkpoint, o.out);
  result.base_tokens = tokens.base_length;
  result.pad_added = tokens.pad_added;

  // Checked as the loader reads it: the text about to be written, parsed back.
  const std::string text = release_config_json(c, lang.n_layers).dump(2) + "\n";
  const nlohmann::json written = io::parse_json(text, o.out + "/config.json");
  check_open_flamingo_config(o.out, written, checkpoint);

  std::vector<ReleaseFile> files{{o.out + "/tokenizer.json", tokens.tokenizer}};
  if (tokens.tokenizer_config.is_object())
    files.push_back({o.out + "/tokenizer_config.json", tokens.tokenizer_config});
  files.push_back({o.out + "/config.json", written});  // last: the folder is usable once it is
  result.unchanged = true;
  for (const ReleaseFile& f : files) result.unchanged &= release_file_unchanged(f, o.force);
  if (result.unchanged) return result;
  fs::create_directories(o.out);
  for (const ReleaseFile& f : files)
    write_file_atomically(f.path, &f == &files.back() ? text : f.content.dump(2) + "\n");
  return result;
}

}  // namespace lavender::vlm
