#include "lavender/util/remove_tree.h"

#include <ftw.h>
#include <sys/stat.h>

#include <cstdio>

namespace lavender {

bool remove_tree(const std::string& path) {
  auto remove_one = [](const char* p, const struct stat*, int, struct FTW*) {
    std::remove(p);
    return 0;
  };
  ::nftw(path.c_str(), remove_one, 16, FTW_DEPTH | FTW_PHYS);
  struct stat st;
  return ::lstat(path.c_str(), &st) != 0;
}

}  // namespace lavender
