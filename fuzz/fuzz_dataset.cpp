// libFuzzer target: the dataset reader in every format on arbitrary text. Bad entries must come
// back as counted problems or a lavender::Error; every record kept must be usable.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "lavender/data/dataset.h"
#include "lavender/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lavender::data;
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (auto format : {DatasetFormat::detect, DatasetFormat::llava_json, DatasetFormat::llava_jsonl,
                      DatasetFormat::karpathy, DatasetFormat::tsv}) {
    try {
      DatasetReadResult r = parse_dataset(text, "fuzz.data", "root", format);
      for (const auto& record : r.records) {
        if (record.turns.empty() && record.captions.empty()) std::abort();
        for (auto choice : {TextChoice::assistant, TextChoice::all_turns, TextChoice::caption})
          for (const auto& pair : image_text_pairs(record, choice))
            if (pair.text.empty() || pair.image.empty()) std::abort();
      }
    } catch (const lavender::Error&) {
    }
  }
  return 0;
}
