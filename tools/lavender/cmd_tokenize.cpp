#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "lavender/io/json_file.h"
#include "lavender/text/tokenizer.h"
#include "lavender/util/args.h"
#include "lavender/util/error.h"

namespace lavender::cli {
namespace {

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

// One input line of --decode: a JSON array of integer ids.
std::vector<int64_t> parse_ids(const std::string& line, const std::string& where) {
  nlohmann::json j = io::parse_json(line, where);
  std::vector<int64_t> ids;
  if (j.is_array())
    for (const auto& id : j) {
      if (!id.is_number_integer()) break;
      ids.push_back(id.get<int64_t>());
    }
  if (!j.is_array() || ids.size() != j.size())
    throw Error(where + ": expected a JSON array of integer ids");
  return ids;
}

// What one line becomes: ids of a text, or the text of ids (as a JSON string).
std::string process(const text::Tokenizer& tok, const std::string& line, const std::string& where,
                    bool decode, bool special) {
  if (decode)
    return nlohmann::json(tok.decode(parse_ids(line, where)))
        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return ids_to_json(tok.encode(parse_line(line, where), special));
}

}  // namespace

int run_tokenize(const Args& args) {
  ArgParser parser("tokenize",
                   "Tokenizes text: each line of the JSONL file is a JSON string; prints one JSON "
                   "array of ids per line (with --decode the other way round). A malformed line "
                   "is reported (file:line) and skipped, and the exit code is then 2.");
  parser.option("tokenizer",
                "tokenizer: a file or a folder holding it: tokenizer.json (CLIP or byte-level "
                "BPE such as Llama 3), tokenizer.model (SentencePiece, Llama 2), "
                "bpe_simple_vocab_16e6.txt.gz, vocab.json + merges.txt (also a diffusers "
                "pipeline folder)");
  parser.option("jsonl", "input file, one JSON string per line (\"-\" reads stdin)");
  parser.flag("special",
              "add the model's special tokens (CLIP: start and end, no padding; Llama: BOS)");
  parser.flag("decode", "input lines are JSON arrays of ids; print each one's text as JSON");
  if (!parser.parse(args)) {
    std::printf("%s", parser.help().c_str());
    return 0;
  }
  if (parser.get("tokenizer").empty() || parser.get("jsonl").empty())
    throw Error("tokenize: --tokenizer and --jsonl are required\n" + parser.usage());
  const std::unique_ptr<text::Tokenizer> tokenizer = text::load_tokenizer(parser.get("tokenizer"));
  const std::string path = parser.get("jsonl");
  std::ifstream file;
  if (path != "-") {
    file.open(path, std::ios::binary);
    if (!file) throw Error(path + ": cannot open file");
  }
  std::istream& in = path == "-" ? std::cin : file;
  const bool special = parser.has("special"), decode = parser.has("decode");
  size_t line_no = 0, bad = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank lines
    try {
      const std::string where = path + ":" + std::to_string(line_no);
      std::printf("%s\n", process(*tokenizer, line, where, decode, special).c_str());
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
