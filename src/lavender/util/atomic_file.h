// Writing files so that readers never see a half-written one: data goes to a temporary file in
// the same directory, is flushed to disk, then renamed over the destination in one step.
// A writer destroyed before commit() removes its temporary file and leaves the old file intact.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>

namespace lavender {

class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t size);
  void write(const std::string& text) { write(text.data(), text.size()); }
  // Flushes, syncs and renames into place. Throws lavender::Error naming the path on failure.
  void commit();

  const std::string& path() const { return path_; }
  const std::string& temporary_path() const { return temp_path_; }

 private:
  void abandon() noexcept;

  std::string path_;
  std::string temp_path_;
  std::FILE* file_ = nullptr;
};

// Convenience: the whole content at once.
void write_file_atomically(const std::string& path, const std::string& content);

}  // namespace lavender
