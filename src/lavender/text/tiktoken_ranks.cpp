// Reading tiktoken's rank files ("<base64 bytes> <rank>" per line) as a byte-level BPE.
//
// tiktoken merges the adjacent pair whose concatenation has the lowest rank. That is BPE with a
// merge (a, b) of rank r for every token of rank r and every split of it into two tokens a, b,
// so the rank file becomes a merge list with explicit ranks and the same BPE code runs it.
#include <charconv>
#include <sstream>

#include "lavender/io/json_file.h"
#include "lavender/text/byte_bpe.h"
#include "lavender/text/clip_tokenizer.h"
#include "lavender/util/base64.h"
#include "lavender/util/error.h"

namespace lavender::text {
namespace {

std::string to_alphabet(std::string_view bytes) {
  std::string s;
  for (char c : bytes) s += byte_alphabet()[static_cast<unsigned char>(c)];
  return s;
}

}  // namespace

std::unique_ptr<ByteBpeTokenizer> load_tiktoken_ranks(
    const std::string& path, SplitPattern pattern,
    const std::vector<std::pair<std::string, int64_t>>& special_tokens) {
  std::istringstream in(io::read_text_file(path));
  std::vector<std::string> by_rank;  // raw bytes of each rank
  ByteBpeConfig config;
  std::string line, bytes;
  for (size_t line_no = 1; std::getline(in, line); ++line_no) {
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    int64_t rank = -1;
    const char* end = line.data() + line.size();
    if (space == std::string::npos ||
        !base64_decode(std::string_view(line).substr(0, space), bytes) || bytes.empty() ||
        std::from_chars(line.data() + space + 1, end, rank).ptr != end || rank < 0 ||
        rank >= (int64_t{1} << 30))
      throw Error(path + ": line " + std::to_string(line_no) + ": expected \"BASE64 RANK\"");
    if (!config.vocab.emplace(to_alphabet(bytes), rank).second)
      throw Error(path + ": line " + std::to_string(line_no) + ": token repeated");
    if (by_rank.size() <= static_cast<size_t>(rank)) by_rank.resize(static_cast<size_t>(rank) + 1);
    by_rank[static_cast<size_t>(rank)] = bytes;
  }
  for (size_t rank = 0; rank < by_rank.size(); ++rank) {
    const std::string& tok = by_rank[rank];
    for (size_t cut = 1; cut < tok.size(); ++cut) {
      std::string left = to_alphabet(std::string_view(tok).substr(0, cut));
      std::string right = to_alphabet(std::string_view(tok).substr(cut));
      if (config.vocab.count(left) && config.vocab.count(right)) {
        config.merges.emplace_back(std::move(left), std::move(right));
        config.merge_ranks.push_back(static_cast<int32_t>(rank));
      }
    }
  }
  for (const auto& [content, id] : special_tokens)
    config.added_tokens.push_back({content, id, true});
  config.pattern = pattern;
  config.ignore_merges = true;  // tiktoken looks a whole piece up first
  return std::make_unique<ByteBpeTokenizer>(std::move(config), path);
}

}  // namespace lavender::text
