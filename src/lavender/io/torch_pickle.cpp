#include "lavender/io/torch_pickle.h"

#include <torch/csrc/api/include/torch/serialize.h>

#include <fstream>
#include <iterator>
#include <vector>

#include "lavender/util/error.h"

namespace lavender::io {
namespace {

std::vector<char> pickle_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(path + ": read error");
  return bytes;
}

// The first bytes of a zip local file header; torch.save's legacy format starts with a pickle
// protocol opcode (0x80) instead.
bool is_zip_archive(const std::vector<char>& bytes) {
  return bytes.size() >= 4 && bytes[0] == 'P' && bytes[1] == 'K' && bytes[2] == 3 && bytes[3] == 4;
}

}  // namespace

std::map<std::string, at::Tensor> load_torch_pickle(const std::string& path) {
  const std::vector<char> bytes = pickle_file_bytes(path);
  if (bytes.empty()) throw Error(path + ": empty file (not a torch.save checkpoint)");
  if (!is_zip_archive(bytes)) {
    if (static_cast<unsigned char>(bytes[0]) == 0x80)
      throw Error(path +
                  ": legacy (pre-1.6, non-zip) torch.save format, which lavender does not read; "
                  "re-save it with torch.save(..., _use_new_zipfile_serialization=True)");
    throw Error(path + ": not a torch.save checkpoint (no zip archive)");
  }
  c10::IValue value;
  try {
    value = torch::pickle_load(bytes);
  } catch (const std::exception& e) {
    // LibTorch's messages carry a C++ backtrace; its first line says what went wrong.
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    throw Error(path + ": unreadable torch.save archive (truncated or corrupt?): " + what);
  }
  if (!value.isGenericDict()) throw Error(path + ": holds a " + value.tagKind() + ", not a dict");
  std::map<std::string, at::Tensor> out;
  for (const auto& entry : value.toGenericDict()) {
    if (!entry.key().isString())
      throw Error(path + ": dict key of type " + entry.key().tagKind() + " (expected names)");
    const std::string name = entry.key().toStringRef();
    if (!entry.value().isTensor())
      throw Error(path + ": entry '" + name + "' is a " + entry.value().tagKind() +
                  ", not a tensor");
    out.emplace(name, entry.value().toTensor());
  }
  return out;
}

}  // namespace lavender::io
