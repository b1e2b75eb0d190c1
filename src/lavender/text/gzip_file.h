// Reading a whole gzip-compressed file (as the original CLIP merges file is shipped).
#pragma once

#include <string>

namespace lavender::text {

// Decompresses `path` into memory. Throws lavender::Error naming the file when it cannot be
// opened, is not gzip data, or is truncated or corrupt.
std::string read_gzip_file(const std::string& path);

}  // namespace lavender::text
