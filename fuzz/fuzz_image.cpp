// libFuzzer target: PNG and JPEG decoding of arbitrary bytes. Rejection must be a
// lavender::Error; a decoded image must hold exactly width × height × 3 bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "lavender/io/image.h"
#include "lavender/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    lavender::io::Image image = lavender::io::decode_image(data, size, "fuzz.img");
    if (image.channels != 3 || image.width <= 0 || image.height <= 0 ||
        image.pixels.size() != static_cast<size_t>(image.width) * image.height * 3)
      std::abort();
  } catch (const lavender::Error&) {
  }
  return 0;
}
