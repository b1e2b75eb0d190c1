#include "lavender/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <torch/version.h>
#include <unistd.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "lavender/util/atomic_file.h"
#include "lavender/util/error.h"

namespace lavender::io {

// A private, copy-on-write mapping of a whole file. Tensors hold it through their deleters.
class MappedFile {
 public:
  static std::shared_ptr<MappedFile> open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw Error(path + ": cannot open: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      throw Error(path + ": not a regular file");
    }
    auto size = static_cast<size_t>(st.st_size);
    void* data = nullptr;
    bool writable = true;
    if (size > 0) {
      // Writable private pages: a caller may modify a loaded tensor in place without the
      // change reaching the file and without a segfault on a read-only page.
      data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
      // Under strict overcommit a writable private mapping of a huge file may be refused:
      // fall back to read-only pages (loading copies out of them; only in-place writes to the
      // zero-copy tensors would fault).
      if (data == MAP_FAILED) {
        writable = false;
        data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
      }
      if (data == MAP_FAILED) {
        std::string why = std::strerror(errno);
        ::close(fd);
        throw Error(path + ": cannot map file: " + why);
      }
      ::madvise(data, size, MADV_WILLNEED);
    }
    ::close(fd);  // the mapping stays valid without the descriptor
    return std::shared_ptr<MappedFile>(new MappedFile(static_cast<uint8_t*>(data), size, writable));
  }
  ~MappedFile() {
    if (data_) ::munmap(data_, size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool writable() const { return writable_; }

 private:
  MappedFile(uint8_t* data, size_t size, bool writable)
      : data_(data), size_(size), writable_(writable) {}
  uint8_t* data_;
  size_t size_;
  bool writable_;
};

c10::ScalarType to_scalar_type(StDtype dtype, const std::string& what) {
  switch (dtype) {
    case StDtype::F64:
      return at::kDouble;
    case StDtype::F32:
      return at::kFloat;
    case StDtype::F16:
      return at::kHalf;
    case StDtype::BF16:
      return at::kBFloat16;
    case StDtype::I64:
      return at::kLong;
    case StDtype::I32:
      return at::kInt;
    case StDtype::I16:
      return at::kShort;
    case StDtype::I8:
      return at::kChar;
    case StDtype::U8:
      return at::kByte;
    case StDtype::BOOL:
      return at::kBool;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
    case StDtype::F8_E4M3:
      return at::kFloat8_e4m3fn;
    case StDtype::F8_E5M2:
      return at::kFloat8_e5m2;
#endif
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
    case StDtype::U16:
      return at::kUInt16;
    case StDtype::U32:
      return at::kUInt32;
    case StDtype::U64:
      return at::kUInt64;
#endif
    default:
      break;
  }
  throw Error(what + ": dtype " + dtype_name(dtype) + " is not supported by this LibTorch build (" +
              TORCH_VERSION + "); convert the checkpoint to F16/BF16/F32 first");
}

StDtype from_scalar_type(c10::ScalarType type, const std::string& what) {
  for (StDtype d : {StDtype::F64, StDtype::F32, StDtype::F16, StDtype::BF16, StDtype::I64,
                    StDtype::I32, StDtype::I16, StDtype::I8, StDtype::U8, StDtype::BOOL,
                    StDtype::F8_E4M3, StDtype::F8_E5M2, StDtype::U16, StDtype::U32, StDtype::U64}) {
    try {
      if (to_scalar_type(d, what) == type) return d;
    } catch (const Error&) {
      // this build lacks d; keep looking
    }
  }
  throw Error(what + ": LibTorch dtype " + std::string(c10::toString(type)) +
              " cannot be stored in safetensors");
}

SafetensorsFile::SafetensorsFile(std::string path, std::shared_ptr<MappedFile> mapping,
                                 StHeader header)
    : path_(std::move(path)), mapping_(std::move(mapping)), header_(std::move(header)) {}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  auto mapping = MappedFile::open(path);
  StHeader header = parse_safetensors_header(mapping->data(), mapping->size(), path);
  return std::shared_ptr<SafetensorsFile>(
      new SafetensorsFile(path, std::move(mapping), std::move(header)));
}

uint64_t SafetensorsFile::file_size() const {
  return mapping_->size();
}

const StTensorInfo& SafetensorsFile::info(const std::string& name) const {
  const StTensorInfo* info = header_.find(name);
  if (!info) throw Error(path_ + ": no tensor named '" + name + "'");
  return *info;
}

const uint8_t* SafetensorsFile::raw_data(const std::string& name) const {
  return mapping_->data() + header_.data_offset + info(name).begin;
}

at::Tensor SafetensorsFile::tensor(const std::string& name) const {
  const StTensorInfo& meta = info(name);
  auto type = to_scalar_type(meta.dtype, path_ + ": tensor '" + name + "'");
  auto options = at::TensorOptions().dtype(type);
  if (meta.nbytes() == 0) return at::empty(meta.shape, options);
  uint8_t* data = mapping_->data() + header_.data_offset + meta.begin;
  if (reinterpret_cast<uintptr_t>(data) % dtype_size(meta.dtype) != 0) {
    // Misaligned for the dtype (the header length was not padded): copy into fresh memory.
    at::Tensor copy = at::empty(meta.shape, options);
    std::memcpy(copy.data_ptr(), data, meta.nbytes());
    return copy;
  }
  std::shared_ptr<MappedFile> keep_alive = mapping_;
  return at::from_blob(
      data, meta.shape, [keep_alive](void*) mutable { keep_alive.reset(); }, options);
}

bool SafetensorsFile::writable() const {
  return mapping_->writable();
}

void SafetensorsFile::release(const std::string& name) const {
  const StTensorInfo& meta = info(name);
  if (meta.nbytes() == 0) return;
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(raw_data(name));
  const uintptr_t first = (begin + page - 1) / page * page,
                  last = (begin + meta.nbytes()) / page * page;
  if (last > first)
    ::madvise(reinterpret_cast<void*>(first), last - first,
              MADV_DONTNEED);  // a hint: errors ignored
}

std::map<std::string, at::Tensor> load_safetensors(const std::string& path) {
  auto file = SafetensorsFile::open(path);
  std::map<std::string, at::Tensor> out;
  for (const auto& t : file->tensors()) out.emplace(t.name, file->tensor(t.name));
  return out;
}

void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  struct Item {
    StTensorInfo info;
    at::Tensor data;
  };
  std::vector<Item> items;
  items.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    std::string what = path + ": tensor '" + name + "'";
    if (!tensor.defined()) throw Error(what + " is undefined");
    Item item;
    item.info.name = name;
    item.info.dtype = from_scalar_type(tensor.scalar_type(), what);
    item.info.shape = tensor.sizes().vec();
    item.data = tensor.to(at::kCPU).contiguous();
    items.push_back(std::move(item));
  }
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    size_t sa = dtype_size(a.info.dtype), sb = dtype_size(b.info.dtype);
    return sa != sb ? sa > sb : a.info.name < b.info.name;
  });
  uint64_t offset = 0;
  std::vector<StTensorInfo> infos;
  for (auto& item : items) {
    item.info.begin = offset;
    offset += static_cast<uint64_t>(item.data.nbytes());
    item.info.end = offset;
    infos.push_back(item.info);
  }
  std::string header = make_safetensors_header(infos, metadata);

  AtomicFileWriter out(path);
  uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<uint8_t>(header.size() >> (8 * i));
  out.write(length, sizeof(length));
  out.write(header);
  for (const auto& item : items) out.write(item.data.data_ptr(), item.data.nbytes());
  out.commit();
}

}  // namespace lavender::io
