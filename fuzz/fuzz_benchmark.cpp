// libFuzzer target: the benchmark reader (conversation JSON/JSONL with answer/type/choices) and
// the answer normalisation and choice matching applied to what it reads. Bad records must come
// back as counted problems or a lavender::Error; every item kept must be scorable.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "lavender/eval/answer_normalize.h"
#include "lavender/eval/benchmark.h"
#include "lavender/eval/scoring.h"
#include "lavender/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lavender::eval;
  const std::string text(reinterpret_cast<const char*>(data), size);
  for (const char* path : {"fuzz.jsonl", "fuzz.json"}) {
    try {
      Benchmark b = parse_benchmark(text, path, "root");
      for (const auto& item : b.items) {
        if (item.id.empty() || item.image.empty() || item.question.empty() ||
            item.answer.empty())
          std::abort();
        const std::string n = normalize_answer(item.answer);
        if (normalize_answer(n) != n) std::abort();  // normalising is idempotent
        const int choice = match_choice(item.question, item.choices);
        if (choice < -1 || choice >= static_cast<int>(item.choices.size())) std::abort();
      }
    } catch (const lavender::Error&) {
    }
  }
  return 0;
}
