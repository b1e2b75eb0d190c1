#include "lavender/text/sentencepiece_tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lavender/io/json_file.h"
#include "lavender/util/error.h"

namespace lavender::text {
namespace {

namespace fs = std::filesystem;

bool json_flag(const nlohmann::json& j, const char* key, bool fallback) {
  const auto it = j.is_object() ? j.find(key) : j.end();
  return j.is_object() && it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& model_path, Options options)
    : sp_(std::make_unique<SpmModel>(model_path)),
      source_(model_path),
      options_(std::move(options)) {
  // Control pieces (<s>, </s>) are never produced from text by SentencePiece itself; HF's
  // tokenizer recognises them as special tokens, so do the same.
  for (int id = 0; id < sp_->piece_size(); ++id)
    if (sp_->is_control(id)) matcher_.add(sp_->id_to_piece(id), id);
  for (const auto& [content, id] : options_.added_tokens) {
    if (id < 0) throw Error(model_path + ": added token \"" + content + "\" has a negative id");
    matcher_.add(content, id);
    added_by_id_[id] = content;
  }
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

void SentencePieceTokenizer::encode_plain(std::string_view text, std::vector<int64_t>& ids) const {
  const std::vector<int> piece_ids = sp_->encode(text);
  ids.insert(ids.end(), piece_ids.begin(), piece_ids.end());
}

std::vector<int64_t> SentencePieceTokenizer::encode(const std::string& text,
                                                    bool add_special) const {
  std::vector<int64_t> ids;
  if (add_special && options_.add_bos && bos_id() >= 0) ids.push_back(bos_id());
  for (const auto& piece : matcher_.split(text)) {
    if (piece.id >= 0)
      ids.push_back(piece.id);
    else
      encode_plain(piece.text, ids);
  }
  if (add_special && options_.add_eos && eos_id() >= 0) ids.push_back(eos_id());
  return ids;
}

bool SentencePieceTokenizer::is_plain_piece(int64_t id) const {
  return id >= 0 && id < sp_->piece_size() && !sp_->is_control(static_cast<int>(id));
}

// Runs of ordinary pieces are decoded by SentencePiece (which turns "▁" back into spaces, drops
// the dummy prefix and joins byte-fallback pieces); control and added tokens are written as
// themselves.
std::string SentencePieceTokenizer::decode(const std::vector<int64_t>& ids) const {
  std::string out;
  std::vector<int> run;
  auto flush = [&] {
    if (run.empty()) return;
    out += sp_->decode(run);
    run.clear();
  };
  for (int64_t id : ids) {
    if (is_plain_piece(id)) {
      run.push_back(static_cast<int>(id));
      continue;
    }
    flush();
    out += id_to_token(id);
  }
  flush();
  return out;
}

int64_t SentencePieceTokenizer::token_to_id(const std::string& token) const {
  for (const auto& [id, content] : added_by_id_)
    if (content == token) return id;
  const int id = sp_->piece_to_id(token);
  // SentencePiece answers unk_id for unknown pieces.
  return id < 0 || (id == sp_->unk_id() && sp_->id_to_piece(id) != token) ? -1 : id;
}

std::string SentencePieceTokenizer::id_to_token(int64_t id) const {
  if (auto it = added_by_id_.find(id); it != added_by_id_.end()) return it->second;
  if (id < 0 || id >= sp_->piece_size())
    throw Error(source_ + ": id " + std::to_string(id) + " is not in the vocabulary");
  return sp_->id_to_piece(static_cast<int>(id));
}

size_t SentencePieceTokenizer::vocab_size() const {
  int64_t n = sp_->piece_size();
  for (const auto& entry : added_by_id_) n = std::max(n, entry.first + 1);
  return static_cast<size_t>(n);
}

int64_t SentencePieceTokenizer::bos_id() const {
  return sp_->bos_id();
}
int64_t SentencePieceTokenizer::eos_id() const {
  return sp_->eos_id();
}

std::unique_ptr<SentencePieceTokenizer> load_sentencepiece_tokenizer(const std::string& path) {
  const fs::path dir = fs::path(path).parent_path();
  SentencePieceTokenizer::Options options;
  const fs::path added = dir / "added_tokens.json";
  if (fs::is_regular_file(added)) {
    const nlohmann::json j = io::read_json_file(added.string());
    if (!j.is_object()) throw Error(added.string() + ": expected {\"token\": id, ...}");
    for (const auto& [tok, id] : j.items()) {
      if (!id.is_number_integer())
        throw Error(added.string() + ": id of \"" + tok + "\" is not an integer");
      options.added_tokens.emplace_back(tok, id.get<int64_t>());
    }
  }
  const fs::path cfg = dir / "tokenizer_config.json";
  if (fs::is_regular_file(cfg)) {
    const nlohmann::json j = io::read_json_file(cfg.string());
    options.add_bos = json_flag(j, "add_bos_token", true);
    options.add_eos = json_flag(j, "add_eos_token", false);
  }
  return std::make_unique<SentencePieceTokenizer>(path, std::move(options));
}

}  // namespace lavender::text
