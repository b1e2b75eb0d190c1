// libFuzzer target: the safetensors header parser on arbitrary file bytes. It may reject input
// only with lavender::Error; anything else (another exception, a crash, a sanitizer report, a
// hang) is a bug. Accepted headers must also satisfy the invariants readers rely on.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "lavender/io/safetensors_header.h"
#include "lavender/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lavender::io;
  try {
    StHeader h = parse_safetensors_header(data, size, "fuzz.safetensors");
    uint64_t covered = 0;
    for (const auto& t : h.tensors) {
      if (t.end > h.data_size || t.begin > t.end) std::abort();
      if (t.numel() * dtype_size(t.dtype) != t.nbytes()) std::abort();
      covered += t.nbytes();
    }
    if (covered != h.data_size || h.data_offset + h.data_size != size) std::abort();
    // What we write must parse back to the same layout.
    std::string header = make_safetensors_header(h.tensors, h.metadata);
    std::string file(8, '\0');
    for (int i = 0; i < 8; ++i) file[i] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
    file += header;
    file.append(reinterpret_cast<const char*>(data) + h.data_offset, h.data_size);
    StHeader again = parse_safetensors_header(reinterpret_cast<const uint8_t*>(file.data()),
                                              file.size(), "fuzz.rewritten");
    if (again.tensors.size() != h.tensors.size() || again.metadata != h.metadata) std::abort();
  } catch (const lavender::Error&) {
    // Rejected with a message: the expected outcome for bad input.
  }
  return 0;
}
