// A CLIP-style tokenizer.json small enough for the sd_tiny fixture's 1000-id text encoder: the
// 512 byte symbols (plain and word-final), merges for "cat" and "dog", and the two specials.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "lavender/text/clip_tokenizer.h"

namespace lavender::test {

inline void write_tiny_clip_tokenizer(const std::string& path) {
  nlohmann::json vocab = nlohmann::json::object();
  int64_t id = 0;
  for (const auto& b : text::byte_alphabet()) vocab[b] = id++;
  for (const auto& b : text::byte_alphabet()) vocab[b + "</w>"] = id++;
  nlohmann::json merges = nlohmann::json::array();
  for (const auto& [l, r] : std::vector<std::pair<std::string, std::string>>{
           {"c", "a"}, {"ca", "t</w>"}, {"d", "o"}, {"do", "g</w>"}}) {
    merges.push_back(l + " " + r);
    vocab[l + r] = id++;
  }
  nlohmann::json j = {{"version", "1.0"},
                      {"added_tokens",
                       {{{"id", id}, {"content", "<|startoftext|>"}, {"special", true}},
                        {{"id", id + 1}, {"content", "<|endoftext|>"}, {"special", true}}}},
                      {"model",
                       {{"type", "BPE"},
                        {"unk_token", "<|endoftext|>"},
                        {"continuing_subword_prefix", ""},
                        {"end_of_word_suffix", "</w>"},
                        {"vocab", vocab},
                        {"merges", merges}}}};
  std::ofstream(path) << j.dump();
}

}  // namespace lavender::test
