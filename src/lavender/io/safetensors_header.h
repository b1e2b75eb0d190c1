// The safetensors header: parsing and validation of untrusted bytes, without LibTorch.
//
// Layout of a safetensors file: an 8-byte little-endian header length N, N bytes of JSON
// (`{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//   "__metadata__": {"key": "value"}}`), then the data buffer that the offsets index.
// Everything a reader relies on is checked here, so the tensor layer can trust the result.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lavender::io {

// Every dtype the safetensors format names. Some have no LibTorch counterpart in every
// version; the tensor layer reports those clearly.
enum class StDtype {
  F64,
  F32,
  F16,
  BF16,
  I64,
  I32,
  I16,
  I8,
  U8,
  BOOL,
  U16,
  U32,
  U64,
  F8_E4M3,
  F8_E5M2,
  F8_E8M0,
};

const char* dtype_name(StDtype dtype);
std::optional<StDtype> dtype_from_name(const std::string& name);
size_t dtype_size(StDtype dtype);

struct StTensorInfo {
  std::string name;
  StDtype dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data buffer (after the header)
  uint64_t end = 0;
  uint64_t numel() const;
  uint64_t nbytes() const { return end - begin; }
};

struct StHeader {
  uint64_t data_offset = 0;           // where the data buffer starts in the file: 8 + header length
  uint64_t data_size = 0;             // bytes in the data buffer
  std::vector<StTensorInfo> tensors;  // sorted by name
  std::map<std::string, std::string> metadata;

  // nullptr when absent.
  const StTensorInfo* find(const std::string& name) const;
};

// Largest header accepted: the format's reference implementation uses the same bound.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// Parses and validates the header of a whole safetensors file held in `bytes` (size `size`).
// `source` (usually the path) prefixes every error message. Throws lavender::Error when:
// the file is too short or the header length is out of bounds; the header is not valid JSON or
// not an object; a name repeats; an entry lacks or mistypes dtype/shape/data_offsets; the dtype is
// unknown; shape × dtype size differs from the byte range; an offset lies outside the buffer;
// ranges overlap, leave gaps, or leave trailing bytes; `__metadata__` is not string → string.
StHeader parse_safetensors_header(const uint8_t* bytes, size_t size, const std::string& source);

// Builds the JSON header text for `tensors` (offsets already assigned) and `metadata`, padded
// with spaces so that the data buffer starts at a multiple of 8 bytes, as the format asks.
std::string make_safetensors_header(const std::vector<StTensorInfo>& tensors,
                                    const std::map<std::string, std::string>& metadata);

}  // namespace lavender::io
