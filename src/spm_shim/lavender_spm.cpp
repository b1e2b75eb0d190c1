// liblavender_spm: see lavender_spm.h for why SentencePiece lives in a plugin.
#include "lavender_spm.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Processor = sentencepiece::SentencePieceProcessor;

Processor* as_processor(void* model) {
  return static_cast<Processor*>(model);
}

long copy_out(const std::string& s, char* out, size_t cap) {
  if (out != nullptr) std::memcpy(out, s.data(), std::min(cap, s.size()));
  return static_cast<long>(s.size());
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) void* lavender_spm_load(const char* path, char* err,
                                                               size_t err_size) {
  auto* sp = new Processor();
  const auto status = sp->Load(path);
  if (status.ok()) return sp;
  delete sp;
  if (err != nullptr && err_size > 0) {
    const std::string msg = status.ToString();
    const size_t n = std::min(err_size - 1, msg.size());
    std::memcpy(err, msg.data(), n);
    err[n] = '\0';
  }
  return nullptr;
}

__attribute__((visibility("default"))) void lavender_spm_free(void* model) {
  delete as_processor(model);
}

__attribute__((visibility("default"))) long lavender_spm_encode(void* model, const char* text,
                                                                size_t len, int* ids, size_t cap) {
  std::vector<int> out;
  if (!as_processor(model)->Encode(std::string(text, len), &out).ok()) return -1;
  if (ids != nullptr) std::copy_n(out.begin(), std::min(cap, out.size()), ids);
  return static_cast<long>(out.size());
}

__attribute__((visibility("default"))) long lavender_spm_decode(void* model, const int* ids,
                                                                size_t n, char* out, size_t cap) {
  std::string text;
  if (!as_processor(model)->Decode(std::vector<int>(ids, ids + n), &text).ok()) return -1;
  return copy_out(text, out, cap);
}

__attribute__((visibility("default"))) long lavender_spm_id_to_piece(void* model, int id, char* out,
                                                                     size_t cap) {
  Processor* sp = as_processor(model);
  if (id < 0 || id >= sp->GetPieceSize()) return -1;
  return copy_out(sp->IdToPiece(id), out, cap);
}

__attribute__((visibility("default"))) int lavender_spm_piece_to_id(void* model, const char* piece,
                                                                    size_t len) {
  return as_processor(model)->PieceToId(std::string(piece, len));
}

__attribute__((visibility("default"))) int lavender_spm_piece_size(void* model) {
  return as_processor(model)->GetPieceSize();
}

__attribute__((visibility("default"))) int lavender_spm_is_control(void* model, int id) {
  return as_processor(model)->IsControl(id) ? 1 : 0;
}

__attribute__((visibility("default"))) void lavender_spm_special_ids(void* model, int* unk,
                                                                     int* bos, int* eos) {
  Processor* sp = as_processor(model);
  *unk = sp->unk_id();
  *bos = sp->bos_id();
  *eos = sp->eos_id();
}

}  // extern "C"
