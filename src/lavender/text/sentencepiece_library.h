// SentencePiece models through the liblavender_spm plugin (src/spm_shim/lavender_spm.h says why
// it is a plugin): the plugin is loaded on first use and each SpmModel owns one loaded model.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lavender::text {

// "" when SentencePiece can be used here, else why not (plugin missing; sanitizer build).
std::string sentencepiece_unavailable_reason();

class SpmModel {
 public:
  // Throws lavender::Error naming `path` when it is not a model, or when the plugin is missing.
  explicit SpmModel(const std::string& path);
  ~SpmModel();
  SpmModel(const SpmModel&) = delete;
  SpmModel& operator=(const SpmModel&) = delete;

  std::vector<int> encode(std::string_view text) const;
  std::string decode(const std::vector<int>& ids) const;
  std::string id_to_piece(int id) const;          // throws for an unknown id
  int piece_to_id(std::string_view piece) const;  // unk_id() when unknown
  int piece_size() const;
  bool is_control(int id) const;
  int unk_id() const { return unk_; }
  int bos_id() const { return bos_; }
  int eos_id() const { return eos_; }

 private:
  void* model_ = nullptr;
  std::string path_;
  int unk_ = -1, bos_ = -1, eos_ = -1;
};

}  // namespace lavender::text
