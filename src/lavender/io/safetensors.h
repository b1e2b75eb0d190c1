// safetensors files as LibTorch tensors: memory-mapped reading (zero-copy where the dtype and
// alignment allow) and atomic writing.
#pragma once

#include <ATen/core/Tensor.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lavender/io/safetensors_header.h"

namespace lavender::io {

class MappedFile;

// The LibTorch dtype for a safetensors dtype. Throws lavender::Error naming `what` when this
// LibTorch build has no such dtype (F8 types before 2.1, unsigned 16/32/64 before 2.3).
c10::ScalarType to_scalar_type(StDtype dtype, const std::string& what);
// The safetensors dtype for a LibTorch dtype; throws for dtypes the format cannot hold.
StDtype from_scalar_type(c10::ScalarType type, const std::string& what);

// One open safetensors file. The header is validated on open; tensors are views of a private
// copy-on-write mapping of the file (writes to them never reach the file) and keep the mapping
// alive for as long as they live, so the SafetensorsFile object itself may go away first.
class SafetensorsFile {
 public:
  // Throws lavender::Error naming `path` for a missing/unreadable file or an invalid header.
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);

  const std::string& path() const { return path_; }
  const StHeader& header() const { return header_; }
  const std::vector<StTensorInfo>& tensors() const { return header_.tensors; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  uint64_t file_size() const;

  bool contains(const std::string& name) const { return header_.find(name) != nullptr; }
  const StTensorInfo& info(const std::string& name) const;

  // The tensor `name`, zero-copy when its bytes are aligned for the dtype, else copied.
  at::Tensor tensor(const std::string& name) const;
  // Raw bytes of `name` inside the mapping (for checks that must not go through LibTorch).
  const uint8_t* raw_data(const std::string& name) const;
  // Gives back to the kernel the mapped pages that lie wholly inside `name`'s bytes
  // (MADV_DONTNEED): they leave this process's RSS and are read from the file again if touched.
  // Only for bytes nobody changed in place (private changes would be lost); loaders call it
  // after copying a tensor out.
  void release(const std::string& name) const;
  // False when the system refused a writable private mapping (strict overcommit) and the pages
  // are read-only: an in-place write to a zero-copy tensor would fault.
  bool writable() const;

 private:
  SafetensorsFile(std::string path, std::shared_ptr<MappedFile> mapping, StHeader header);

  std::string path_;
  std::shared_ptr<MappedFile> mapping_;
  StHeader header_;
};

// Reads every tensor of a file (zero-copy views) into an ordered map.
std::map<std::string, at::Tensor> load_safetensors(const std::string& path);

// Writes `tensors` (any device, any layout: they are made contiguous CPU copies as needed) and
// `metadata` to `path` atomically. Tensors are laid out by decreasing element size, then name,
// so that every tensor is aligned for its dtype when the file is mapped.
void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace lavender::io
