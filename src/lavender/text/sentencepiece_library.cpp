#include "lavender/text/sentencepiece_library.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "lavender/util/error.h"

#if defined(__SANITIZE_ADDRESS__)
#define LAVENDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LAVENDER_ASAN 1
#endif
#endif

namespace lavender::text {
namespace {

namespace fs = std::filesystem;

struct Plugin {
  void* (*load)(const char*, char*, size_t) = nullptr;
  void (*free)(void*) = nullptr;
  long (*encode)(void*, const char*, size_t, int*, size_t) = nullptr;
  long (*decode)(void*, const int*, size_t, char*, size_t) = nullptr;
  long (*id_to_piece)(void*, int, char*, size_t) = nullptr;
  int (*piece_to_id)(void*, const char*, size_t) = nullptr;
  int (*piece_size)(void*) = nullptr;
  int (*is_control)(void*, int) = nullptr;
  void (*special_ids)(void*, int*, int*, int*) = nullptr;
  std::string error;  // why it could not be loaded
};

#ifndef LAVENDER_ASAN
// Where the plugin may be: $LAVENDER_SPM_LIBRARY, the build tree, beside the executable, the
// loader's search path.
std::vector<std::string> candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("LAVENDER_SPM_LIBRARY")) out.push_back(env);
#ifdef LAVENDER_SPM_LIBRARY_PATH
  out.push_back(LAVENDER_SPM_LIBRARY_PATH);
#endif
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) out.push_back((exe.parent_path() / "liblavender_spm.so").string());
  out.push_back("liblavender_spm.so");
  return out;
}

template <class F>
void bind(void* handle, const char* name, F& fn, std::string& error) {
  fn = reinterpret_cast<F>(::dlsym(handle, name));
  if (fn == nullptr && error.empty()) error = std::string("liblavender_spm lacks ") + name;
}
#endif

Plugin open_plugin() {
  Plugin p;
#ifdef LAVENDER_ASAN
  p.error =
      "SentencePiece is unavailable in AddressSanitizer builds (its plugin needs "
      "dlopen(RTLD_DEEPBIND), which the sanitizer runtime refuses)";
  return p;
#else
  void* handle = nullptr;
  std::string tried;
  for (const std::string& path : candidates()) {
    if (path.find('/') != std::string::npos && !fs::exists(path)) continue;
    // RTLD_LOCAL keeps libsentencepiece's bundled protobuf out of the global scope;
    // RTLD_DEEPBIND makes libsentencepiece bind to that copy rather than LibTorch's.
    handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (handle != nullptr) break;
    const char* err = ::dlerror();
    tried += "\n  " + path + ": " + (err ? err : "cannot load");
  }
  if (handle == nullptr) {
    p.error =
        "the SentencePiece plugin liblavender_spm.so was not found (set "
        "LAVENDER_SPM_LIBRARY to its path)" +
        tried;
    return p;
  }
  bind(handle, "lavender_spm_load", p.load, p.error);
  bind(handle, "lavender_spm_free", p.free, p.error);
  bind(handle, "lavender_spm_encode", p.encode, p.error);
  bind(handle, "lavender_spm_decode", p.decode, p.error);
  bind(handle, "lavender_spm_id_to_piece", p.id_to_piece, p.error);
  bind(handle, "lavender_spm_piece_to_id", p.piece_to_id, p.error);
  bind(handle, "lavender_spm_piece_size", p.piece_size, p.error);
  bind(handle, "lavender_spm_is_control", p.is_control, p.error);
  bind(handle, "lavender_spm_special_ids", p.special_ids, p.error);
  return p;
#endif
}

const Plugin& plugin() {
  static const Plugin p = open_plugin();
  return p;
}

const Plugin& usable_plugin(const std::string& path) {
  const Plugin& p = plugin();
  if (!p.error.empty()) throw Error(path + ": cannot read SentencePiece models: " + p.error);
  return p;
}

}  // namespace

std::string sentencepiece_unavailable_reason() {
  return plugin().error;
}

SpmModel::SpmModel(const std::string& path) : path_(path) {
  const Plugin& p = usable_plugin(path);
  char err[512] = {};
  model_ = p.load(path.c_str(), err, sizeof err);
  if (model_ == nullptr) throw Error(path + ": not a SentencePiece model (" + err + ")");
  p.special_ids(model_, &unk_, &bos_, &eos_);
}

SpmModel::~SpmModel() {
  if (model_ != nullptr) plugin().free(model_);
}

std::vector<int> SpmModel::encode(std::string_view text) const {
  std::vector<int> ids(text.size() + 8);
  for (;;) {
    const long n = plugin().encode(model_, text.data(), text.size(), ids.data(), ids.size());
    if (n < 0) throw Error(path_ + ": SentencePiece could not encode a text");
    if (static_cast<size_t>(n) <= ids.size()) {
      ids.resize(static_cast<size_t>(n));
      return ids;
    }
    ids.resize(static_cast<size_t>(n));
  }
}

std::string SpmModel::decode(const std::vector<int>& ids) const {
  std::string out(ids.size() * 8 + 16, '\0');
  for (;;) {
    const long n = plugin().decode(model_, ids.data(), ids.size(), out.data(), out.size());
    if (n < 0) throw Error(path_ + ": SentencePiece could not decode ids");
    if (static_cast<size_t>(n) <= out.size()) {
      out.resize(static_cast<size_t>(n));
      return out;
    }
    out.resize(static_cast<size_t>(n));
  }
}

std::string SpmModel::id_to_piece(int id) const {
  std::string out(64, '\0');
  for (;;) {
    const long n = plugin().id_to_piece(model_, id, out.data(), out.size());
    if (n < 0) throw Error(path_ + ": id " + std::to_string(id) + " is not in the vocabulary");
    if (static_cast<size_t>(n) <= out.size()) {
      out.resize(static_cast<size_t>(n));
      return out;
    }
    out.resize(static_cast<size_t>(n));
  }
}

int SpmModel::piece_to_id(std::string_view piece) const {
  return plugin().piece_to_id(model_, piece.data(), piece.size());
}

int SpmModel::piece_size() const {
  return plugin().piece_size(model_);
}

bool SpmModel::is_control(int id) const {
  return plugin().is_control(model_, id) != 0;
}

}  // namespace lavender::text
