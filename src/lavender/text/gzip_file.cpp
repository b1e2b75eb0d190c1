#include "lavender/text/gzip_file.h"

#include <zlib.h>

#include <array>
#include <cstring>
#include <fstream>
#include <memory>

#include "lavender/util/error.h"

namespace lavender::text {
namespace {

// gzread passes non-gzip input through unchanged, so check the magic bytes ourselves: a plain
// file named .gz should be an error, not silently parsed.
void check_magic(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open file");
  std::array<unsigned char, 2> magic{};
  in.read(reinterpret_cast<char*>(magic.data()), 2);
  if (in.gcount() != 2 || magic[0] != 0x1F || magic[1] != 0x8B)
    throw Error(path + ": not a gzip file");
}

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose_r(f); }
};

}  // namespace

std::string read_gzip_file(const std::string& path) {
  check_magic(path);
  std::unique_ptr<gzFile_s, GzCloser> file(gzopen(path.c_str(), "rb"));
  if (!file) throw Error(path + ": cannot open file");
  std::string out;
  std::array<char, 1 << 16> buffer{};
  for (;;) {
    const int n = gzread(file.get(), buffer.data(), static_cast<unsigned>(buffer.size()));
    if (n < 0) {
      int code = 0;
      const char* message = gzerror(file.get(), &code);
      throw Error(path + ": corrupt gzip data (" + (message ? message : "unknown error") + ")");
    }
    if (n == 0) break;
    out.append(buffer.data(), static_cast<size_t>(n));
  }
  // A stream cut short ends without error from gzread; zlib reports it here.
  int code = Z_OK;
  const char* message = gzerror(file.get(), &code);
  if (code != Z_OK && code != Z_STREAM_END)
    throw Error(path + ": truncated or corrupt gzip data (" + (message ? message : "") + ")");
  return out;
}

}  // namespace lavender::text
