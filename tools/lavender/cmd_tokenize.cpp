#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "lavender/io/json_file.h"
#include "lavender/text/clip_tokenizer.h"
#include "lavender/util/args.h"
#include "lavender/util/error.h"

namespace lavender::cli {
namespace {

// A loaded tokenizer of any kind, reduced to what this command needs. New kinds (Llama's
// tokenizer.json / tokenizer.model) add a branch to open_tokenizer and nothing else.
struct TextEncoder {
  std::function<std::vector<int64_t>(const std::string& text, bool special)> encode;
};

TextEncoder open_tokenizer(const std::string& path) {
  std::shared_ptr<text::ClipTokenizer> clip = text::load_clip_tokenizer(path);
  return {[clip](const std::string& s, bool special) {
    return special ? clip->encode_for_model(s, 0).ids : clip->encode(s);
  }};
}

std::string ids_to_json(const std::vector<int64_t>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(ids[i]);
  }
  return out + "]";
}

// One input line: a JSON string. Throws lavender::Error naming `where` otherwise.
std::string parse_line(const std::string& line, const std::string& where) {
  nlohmann::json j = io::parse_json(line, where);
  if (!j.is_string()) throw Error(where + ": expected a JSON string, got " + j.type_name());
  return j.get<std::string>();
}

}  // namespace

int run_tokenize(const Args& args) {
  ArgParser parser("tokenize",
                   "Tokenizes text: each line of the JSONL file is a JSON string; prints one JSON "
                   "array of ids per line. A malformed line is reported (file:line) and skipped, "
                   "and the exit code is then 2.");
  parser.option("tokenizer",
                "tokenizer: bpe_simple_vocab_16e6.txt.gz, tokenizer.json, or a folder holding "
                "it or vocab.json + merges.txt (also a diffusers pipeline folder)");
  parser.option("jsonl", "input file, one JSON string per line (\"-\" reads stdin)");
  parser.flag("special", "add the start and end tokens (no padding)");
  if (!parser.parse(args)) {
    std::printf("%s", parser.help().c_str());
    return 0;
  }
  if (parser.get("tokenizer").empty() || parser.get("jsonl").empty())
    throw Error("tokenize: --tokenizer and --jsonl are required\n" + parser.usage());
  const TextEncoder tokenizer = open_tokenizer(parser.get("tokenizer"));
  const std::string path = parser.get("jsonl");
  std::ifstream file;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) throw Error(path + ": cannot open file");
  }
  std::istream& in = path == "-" ? std::cin : file;
  const bool special = parser.has("special");
  size_t line_no = 0, bad = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank lines
    try {
      const std::string text = parse_line(line, path + ":" + std::to_string(line_no));
      std::printf("%s\n", ids_to_json(tokenizer.encode(text, special)).c_str());
    } catch (const Error& e) {
      std::fprintf(stderr, "lavender: error: %s\n", e.what());
      ++bad;
    }
  }
  if (in.bad()) throw Error(path + ": read error");
  if (bad > 0) {
    std::fprintf(stderr, "lavender: %zu of %zu lines could not be tokenized\n", bad, line_no);
    return 2;
  }
  return 0;
}

}  // namespace lavender::cli
