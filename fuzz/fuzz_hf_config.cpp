// libFuzzer target: every Hugging Face / diffusers config parser on arbitrary JSON.
// The parsers may reject input only with lavender::Error; anything else (another exception, a
// crash, a sanitizer report, a hang) is a bug.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "lavender/io/config/clip.h"
#include "lavender/io/config/diffusers.h"
#include "lavender/io/config/image_processor.h"
#include "lavender/io/config/llama.h"
#include "lavender/io/config/llava.h"
#include "lavender/io/config/mllama.h"
#include "lavender/util/error.h"

namespace {

template <class Parse>
void try_parse(Parse parse, const nlohmann::json& j) {
  try {
    parse(j, "fuzz.json");
  } catch (const lavender::Error&) {
    // Rejected with a message: the expected outcome for bad input.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lavender::io::config;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(data, data + size);
  } catch (const nlohmann::json::exception&) {
    return 0;  // not JSON (or a number out of range): the file reader reports these
  }
  try_parse(parse_clip_text_config, j);
  try_parse(parse_clip_vision_config, j);
  try_parse(parse_llama_config, j);
  try_parse(parse_llava_config, j);
  try_parse(parse_mllama_config, j);
  try_parse(parse_mllama_text_config, j);
  try_parse(parse_mllama_vision_config, j);
  try_parse(parse_unet_2d_condition_config, j);
  try_parse(parse_autoencoder_kl_config, j);
  try_parse(parse_ddpm_scheduler_config, j);
  try_parse(parse_clip_image_processor_config, j);
  try_parse(parse_mllama_image_processor_config, j);
  return 0;
}
