// A complete Hugging Face model folder around a tiny fixture checkpoint (llava or mllama): its
// config and weights plus a 300-token byte-level tokenizer.json (with the chat formats' special
// tokens and both image tokens) and a preprocessor_config.json sized for its vision model.
#pragma once

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "lavender/io/image.h"
#include "lavender/text/clip_tokenizer.h"
#include "lavender/text/split_pattern.h"
#include "test_paths.h"

namespace lavender::test {

inline nlohmann::json tiny_vlm_tokenizer() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[text::byte_alphabet()[b]] = b;
  // Ids 256..293 exist only so that any id the random models emit decodes.
  for (int i = 256; i < 294; ++i) vocab["~" + std::to_string(i)] = i;
  const char* specials[] = {"<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                            "<|eot_id|>",        "<|image|>",           "<image>"};
  nlohmann::json added = nlohmann::json::array();
  for (int i = 0; i < 6; ++i)
    added.push_back({{"id", 294 + i}, {"content", specials[i]}, {"special", true}});
  return {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}},
          {"normalizer", nullptr},
          {"pre_tokenizer",
           {{"type", "Sequence"},
            {"pretokenizers",
             {{{"type", "Split"},
               {"pattern", {{"Regex", text::split_pattern_regex(text::SplitPattern::kLlama3)}}},
               {"behavior", "Isolated"},
               {"invert", false}},
              {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
          {"added_tokens", added},
          {"post_processor", nullptr},
          {"decoder", {{"type", "ByteLevel"}}}};
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
