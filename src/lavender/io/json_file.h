// Reading JSON documents from untrusted files, with errors that name the file.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace lavender::io {

// Parses `text` as one JSON document. `source` names where it came from, for error messages.
nlohmann::json parse_json(const std::string& text, const std::string& source);

// Reads and parses a whole JSON file. Throws lavender::Error naming `path` when the file cannot
// be read or is not valid JSON (with the byte offset of the first problem).
nlohmann::json read_json_file(const std::string& path);

// Reads a whole file into memory. Throws lavender::Error naming `path` on failure.
std::string read_text_file(const std::string& path);

}  // namespace lavender::io
