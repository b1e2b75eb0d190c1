// Where tests find shared data and scratch space.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "lavender/util/remove_tree.h"

namespace lavender::test {

// ../shared beside the checkout (as CI lays it out), or $LAVENDER_SHARED.
inline std::string shared_dir() {
  if (const char* env = std::getenv("LAVENDER_SHARED")) return env;
  return LAVENDER_SHARED_DIR;
}

// The Llama 3 tokenizer.json the reference tokenizers are run on.
inline std::string llama3_path() {
  return shared_dir() + "/data/llama3/tokenizer.json";
}

inline std::string fixture_dir(const std::string& name) {
  return shared_dir() + "/fixtures/hf-tiny/" + name;
}

// Writes `content` to `path`, byte for byte.
inline void write_file(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

// A fresh empty folder under the system temp dir, removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "lavender-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data()) ? pattern : "";
  }
  ~TempDir() {
    if (!path_.empty()) remove_tree(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace lavender::test
