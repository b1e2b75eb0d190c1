// libFuzzer target: the metrics.jsonl reader a resumed run applies to whatever a killed run left.
// Bad lines must come back as a lavender::Error; every row kept must be well formed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "lavender/train/metrics_log.h"
#include "lavender/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    for (const auto& row : lavender::train::parse_metrics_log(text, "fuzz.jsonl"))
      for (const auto& [name, value] : row.values)
        if (name == "step") std::abort();
  } catch (const lavender::Error&) {
  }
  return 0;
}
