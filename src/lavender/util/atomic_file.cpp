#include "lavender/util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "lavender/util/error.h"

namespace lavender {
namespace {

std::string errno_text() {
  return std::strerror(errno);
}

std::string unique_suffix() {
  std::random_device device;
  return ".tmp." + std::to_string(::getpid()) + "." + std::to_string(device() % 1000000);
}

// fsync the directory so that the rename itself survives a crash.
void sync_directory_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path)
    : path_(std::move(path)), temp_path_(path_ + unique_suffix()) {
  file_ = std::fopen(temp_path_.c_str(), "wb");
  if (!file_) throw Error(path_ + ": cannot create " + temp_path_ + ": " + errno_text());
}

AtomicFileWriter::~AtomicFileWriter() {
  abandon();
}

void AtomicFileWriter::abandon() noexcept {
  if (!file_) return;
  std::fclose(file_);
  file_ = nullptr;
  std::remove(temp_path_.c_str());
}

void AtomicFileWriter::write(const void* data, size_t size) {
  if (!file_) throw Error(path_ + ": write after commit");
  if (size > 0 && std::fwrite(data, 1, size, file_) != size) {
    std::string why = errno_text();
    abandon();
    throw Error(path_ + ": write failed: " + why);
  }
}

void AtomicFileWriter::commit() {
  if (!file_) throw Error(path_ + ": commit without an open file");
  bool ok = std::fflush(file_) == 0 && ::fsync(::fileno(file_)) == 0;
  std::string why = ok ? "" : errno_text();
  ok = (std::fclose(file_) == 0) && ok;
  file_ = nullptr;
  if (!ok || std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    if (why.empty()) why = errno_text();
    std::remove(temp_path_.c_str());
    throw Error(path_ + ": could not finish writing: " + why);
  }
  sync_directory_of(path_);
}

void write_file_atomically(const std::string& path, const std::string& content) {
  AtomicFileWriter writer(path);
  writer.write(content);
  writer.commit();
}

}  // namespace lavender
