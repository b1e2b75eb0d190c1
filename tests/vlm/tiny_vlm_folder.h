// A complete Hugging Face model folder around a tiny fixture checkpoint (llava or mllama): its
// config and weights plus a 300-token byte-level tokenizer.json (with the chat formats' special
// tokens and both image tokens) and a preprocessor_config.json sized for its vision model.
#pragma once

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "lavender/io/image.h"
#include "lavender/text/byte_tokenizer_json.h"
#include "test_paths.h"

namespace lavender::test {

// Ids 256..293 exist only so that any id the random models emit decodes.
inline nlohmann::json tiny_vlm_tokenizer() {
  return text::byte_level_tokenizer_json(
      300, {"<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
            "<|image|>", "<image>"});
}

inline nlohmann::json tiny_preprocessor(const std::string& fixture) {
  const nlohmann::json meta =
      nlohmann::json::parse(std::ifstream(fixture_dir("preprocess") + "/meta.json"));
  if (fixture == "llava") {
    nlohmann::json c = meta["clip336"];
    c["size"] = {{"shortest_edge", 32}};
    c["crop_size"] = {{"height", 32}, {"width", 32}};
    return c;
  }
  nlohmann::json c = meta["mllama224"];
  c["size"] = {{"height", 16}, {"width", 16}};
  return c;
}

// Writes the folder into `dir` and returns it.
inline std::string write_tiny_vlm_folder(const std::string& dir, const std::string& fixture) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  for (const char* f : {"config.json", "model.safetensors", "generation_config.json"})
    fs::copy_file(fixture_dir(fixture) + "/" + f, dir + "/" + f,
                  fs::copy_options::overwrite_existing);
  std::ofstream(dir + "/tokenizer.json") << tiny_vlm_tokenizer().dump();
  std::ofstream(dir + "/preprocessor_config.json") << tiny_preprocessor(fixture).dump();
  return dir;
}

// A 40×30 picture: left half red, right half blue.
inline io::Image two_colour_image() {
  io::Image img;
  img.width = 40, img.height = 30, img.channels = 3;
  for (int y = 0; y < 30; ++y)
    for (int x = 0; x < 40; ++x) {
      const bool left = x < 20;
      img.pixels.insert(img.pixels.end(), {static_cast<uint8_t>(left ? 220 : 20), 30,
                                           static_cast<uint8_t>(left ? 20 : 220)});
    }
  return img;
}

}  // namespace lavender::test
