#include "lavender/text/tokenizer.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "lavender/io/json_file.h"
#include "lavender/text/byte_bpe.h"
#include "lavender/text/clip_tokenizer.h"
#include "lavender/text/sentencepiece_tokenizer.h"
#include "lavender/text/sp_bpe.h"
#include "lavender/util/error.h"

namespace lavender::text {
namespace {

namespace fs = std::filesystem;

// The CLIP tokenizer behind the common interface; add_special gives encode_for_model's start
// and end tokens without padding.
class ClipAdapter : public Tokenizer {
 public:
  explicit ClipAdapter(std::unique_ptr<ClipTokenizer> clip) : clip_(std::move(clip)) {}
  std::vector<int64_t> encode(const std::string& text, bool add_special) const override {
    return add_special ? clip_->encode_for_model(text, 0).ids : clip_->encode(text);
  }
  std::string decode(const std::vector<int64_t>& ids) const override { return clip_->decode(ids); }
  int64_t token_to_id(const std::string& token) const override { return clip_->token_id(token); }
  std::string id_to_token(int64_t id) const override { return clip_->token(id); }
  size_t vocab_size() const override { return clip_->vocab_size(); }
  int64_t bos_id() const override { return clip_->bos_id(); }
  int64_t eos_id() const override { return clip_->eos_id(); }
  std::string kind() const override { return "clip"; }

 private:
  std::unique_ptr<ClipTokenizer> clip_;
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// CLIP's tokenizer.json marks word ends with "</w>"; byte-level BPEs have no suffix.
bool is_clip_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object()) return false;
  const auto& model = j["model"];
  return model.contains("end_of_word_suffix") && model["end_of_word_suffix"] == "</w>";
}

std::unique_ptr<Tokenizer> load_json(const std::string& path) {
  const nlohmann::json j = io::read_json_file(path);
  if (is_clip_json(j)) return std::make_unique<ClipAdapter>(load_clip_tokenizer(path));
  if (is_sp_bpe_json(j)) return load_sp_bpe_tokenizer(j, path);
  return load_byte_bpe_tokenizer(j, path);
}

std::unique_ptr<Tokenizer> load_from_folder(const fs::path& dir) {
  if (fs::is_regular_file(dir / "tokenizer.json"))
    return load_json((dir / "tokenizer.json").string());
  if (fs::is_regular_file(dir / "tokenizer.model"))
    return load_sentencepiece_tokenizer((dir / "tokenizer.model").string());
  if (fs::is_regular_file(dir / "vocab.json") ||
      fs::is_regular_file(dir / "bpe_simple_vocab_16e6.txt.gz"))
    return std::make_unique<ClipAdapter>(load_clip_tokenizer(dir.string()));
  return nullptr;
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  const fs::path p(path);
  std::error_code ec;
  if (!fs::exists(p, ec)) throw Error(path + ": no such file or folder");
  if (fs::is_directory(p)) {
    if (auto tok = load_from_folder(p)) return tok;
    if (fs::is_directory(p / "tokenizer"))
      if (auto tok = load_from_folder(p / "tokenizer")) return tok;
    throw Error(path +
                ": no tokenizer here (expected tokenizer.json, tokenizer.model, vocab.json + "
                "merges.txt, bpe_simple_vocab_16e6.txt.gz, or a tokenizer/ folder holding one)");
  }
  const std::string name = p.filename().string();
  if (ends_with(name, ".model")) return load_sentencepiece_tokenizer(path);
  if (name == "vocab.json" || name == "merges.txt" || ends_with(name, ".gz"))
    return std::make_unique<ClipAdapter>(load_clip_tokenizer(path));
  if (ends_with(name, ".json")) return load_json(path);
  throw Error(path +
              ": not a tokenizer file (expected tokenizer.json, tokenizer.model, a .gz merges "
              "file, vocab.json or merges.txt)");
}

}  // namespace lavender::text
