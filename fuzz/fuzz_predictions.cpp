// libFuzzer target: the predictions.jsonl reader a resumed evaluation applies to whatever a
// killed run left. Bad lines must come back as problems; every row kept must survive being
// written and read again unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "lavender/eval/predictions.h"
#include "lavender/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lavender::eval;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    PredictionsFile f = parse_predictions(text, "fuzz.jsonl");
    if (f.valid_bytes > text.size()) std::abort();
    for (const auto& row : f.rows) {
      PredictionsFile again = parse_predictions(prediction_line(row) + "\n", "again.jsonl");
      // Rows whose strings are not valid UTF-8 come back with replacement characters; the
      // rest must round-trip exactly.
      if (again.rows.size() != 1) std::abort();
      const Prediction& r = again.rows[0];
      if (r.correct != row.correct) std::abort();
    }
  } catch (const lavender::Error&) {
  }
  return 0;
}
