// A complete Hugging Face model folder around a tiny fixture checkpoint (llava, mllama, minicpmv,
// or openflamingo in its release layout): its
// config and weights plus a 300-token byte-level tokenizer.json (with the chat formats' special
// tokens and both image tokens) and a preprocessor_config.json sized for its vision model.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "lavender/io/image.h"
#include "lavender/text/byte_tokenizer_json.h"
#include "lavender/text/clip_tokenizer.h"
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

// The OpenFlamingo fixture's 103-token vocabulary as a byte-level tokenizer.json: ids 0–99 are
// single bytes (newline, tab, carriage return, the 95 printable ASCII characters, and bytes 0
// and 1), then <|endofchunk|> 100, <image> 101, <PAD> 102 as the fixture has them. A byte-level
// BPE needs a symbol for every byte: the other 156 bytes get ids from 103 on, beyond the model's
// vocabulary, so test texts must stay within the bytes above.
inline nlohmann::json tiny_flamingo_tokenizer() {
  nlohmann::json j = text::byte_level_tokenizer_json(259, {"<|endofchunk|>", "<image>", "<PAD>"});
  std::vector<int> bytes{'\n', '\t', '\r', 0, 1};
  for (int b = 32; b < 127; ++b) bytes.push_back(b);
  const int64_t in_model = static_cast<int64_t>(bytes.size());  // 100
  for (int b = 0; b < 256; ++b)
    if (std::find(bytes.begin(), bytes.end(), b) == bytes.end()) bytes.push_back(b);
  nlohmann::json vocab = nlohmann::json::object();
  for (size_t i = 0; i < bytes.size(); ++i) {
    const int64_t k = static_cast<int64_t>(i);
    vocab[text::byte_alphabet()[static_cast<size_t>(bytes[i])]] = k < in_model ? k : k + 3;
  }
  // The added tokens sit inside the vocabulary, at their ids (the tokenizers library would
  // otherwise number them after it).
  for (size_t k = 0; k < j["added_tokens"].size(); ++k) {
    j["added_tokens"][k]["id"] = in_model + static_cast<int64_t>(k);
    vocab[j["added_tokens"][k]["content"].get<std::string>()] = in_model + static_cast<int64_t>(k);
  }
  j["model"]["vocab"] = vocab;
  return j;
}

// The tokenizer the fixture's language model would ship before OpenFlamingo adds its tokens: 100
// tokens (meta.json's base_vocab), so that upstream's factory gives <|endofchunk|> 100,
// <image> 101, <PAD> 102 and 103 embedding rows, as the fixture has them. A SentencePiece-style
// BPE (the byte-level one above needs all 256 bytes, hence its ids beyond the model): <unk>, the
// 95 printable ASCII characters, and fillers up to 100.
inline nlohmann::json tiny_flamingo_base_tokenizer() {
  nlohmann::json vocab = nlohmann::json::object();
  int64_t id = 0;
  vocab["<unk>"] = id++;
  for (int c = 32; c < 127; ++c) vocab[std::string(1, static_cast<char>(c))] = id++;
  while (id < 100) {
    vocab["<filler" + std::to_string(id) + ">"] = id;
    ++id;
  }
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", nlohmann::json::array()},
          {"normalizer", nullptr},
          {"pre_tokenizer", nullptr},
          {"post_processor", nullptr},
          {"decoder", nullptr},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", "<unk>"},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"vocab", vocab},
            {"merges", nlohmann::json::array()}}}};
}

// The OpenFlamingo fixture as a folder with that tokenizer beside its config. Its MPT allows 32
// positions; the copy allows 256 (ALiBi has no length limit, only the config's check), as the
// chat prompts spell words byte by byte.
inline std::string write_tiny_flamingo_folder(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string src = fixture_dir("openflamingo");
  fs::create_directories(dir);
  fs::copy(src, dir, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add);
  for (const auto& e : fs::recursive_directory_iterator(dir))
    fs::permissions(e.path(), fs::perms::owner_read | fs::perms::owner_write,
                    fs::perm_options::add);
  nlohmann::json lang = nlohmann::json::parse(std::ifstream(src + "/lang/config.json"));
  lang["max_seq_len"] = 256;
  std::ofstream(dir + "/lang/config.json") << lang.dump(2);
  std::ofstream(dir + "/tokenizer.json") << tiny_flamingo_tokenizer().dump();
  return dir;
}

// The MiniCPM-V fixture's toy vocabulary as a byte-level tokenizer.json: ids 0–255 are the
// bytes, and its special tokens (<|begin_of_text|>, <unk>, <image>, <slice>, ...) sit at the
// ids meta.json gives them (256 + the Llama 3 id − 128000), in place of the fillers there.
inline nlohmann::json tiny_minicpmv_tokenizer() {
  const nlohmann::json meta =
      nlohmann::json::parse(std::ifstream(fixture_dir("minicpmv") + "/meta.json"));
  nlohmann::json j = text::byte_level_tokenizer_json(meta["tokenizer"]["vocab_size"], {});
  for (const auto& [name, id] : meta["tokenizer"]["special_ids"].items()) {
    j["model"]["vocab"].erase("~" + std::to_string(id.get<int64_t>()));
    j["model"]["vocab"][name] = id;
    j["added_tokens"].push_back({{"id", id}, {"content", name}, {"special", true}});
  }
  return j;
}

// Writes the folder into `dir` and returns it.
inline std::string write_tiny_vlm_folder(const std::string& dir, const std::string& fixture) {
  namespace fs = std::filesystem;
  if (fixture == "openflamingo") return write_tiny_flamingo_folder(dir);
  if (fixture == "minicpmv") {
    fs::create_directories(dir);
    for (const char* f : {"config.json", "model.safetensors", "preprocessor_config.json"})
      fs::copy_file(fixture_dir(fixture) + "/" + f, dir + "/" + f,
                    fs::copy_options::overwrite_existing);
    std::ofstream(dir + "/tokenizer.json") << tiny_minicpmv_tokenizer().dump();
    return dir;
  }
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
