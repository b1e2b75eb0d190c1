// Where tests find shared data and scratch space.
#pragma once

#include <ftw.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace lavender::test {

// ../shared beside the checkout (as CI lays it out), or $LAVENDER_SHARED.
inline std::string shared_dir() {
  if (const char* env = std::getenv("LAVENDER_SHARED")) return env;
  return LAVENDER_SHARED_DIR;
}

inline std::string fixture_dir(const std::string& name) {
  return shared_dir() + "/fixtures/hf-tiny/" + name;
}

// A fresh empty folder under the system temp dir, removed when the object goes away.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "lavender-test-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data()) ? pattern : "";
  }
  // Not std::filesystem::remove_all: the LibTorch inside PyTorch 2.x wheels exports its own
  // copy of that symbol, which crashes when it wins symbol resolution (seen with PyTorch 2.11).
  ~TempDir() {
    if (path_.empty()) return;
    auto remove_one = [](const char* p, const struct stat*, int, struct FTW*) {
      std::remove(p);  // best effort: keep going past what cannot be removed
      return 0;
    };
    ::nftw(path_.c_str(), remove_one, 16, FTW_DEPTH | FTW_PHYS);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace lavender::test
