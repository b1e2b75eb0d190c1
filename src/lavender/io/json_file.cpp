#include "lavender/io/json_file.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lavender/util/error.h"

namespace lavender::io {

nlohmann::json parse_json(const std::string& text, const std::string& source) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(source + ": invalid JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  } catch (const nlohmann::json::exception& e) {
    // e.g. a number too large for a double (out_of_range 406), which is thrown, not reported
    // as a parse error (found by fuzzing).
    throw Error(source + ": invalid JSON: " + e.what());
  }
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot open file");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(path + ": read error");
  return buffer.str();
}

nlohmann::json read_json_file(const std::string& path) {
  return parse_json(read_text_file(path), path);
}

}  // namespace lavender::io
