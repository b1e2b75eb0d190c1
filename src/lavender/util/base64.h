// Standard base64 (RFC 4648, with padding): tiktoken's rank files and the report's embedded images.
#pragma once

#include <string>
#include <string_view>

namespace lavender {

std::string base64_encode(std::string_view bytes);
// False on a character outside the alphabet; decoding stops at the first '='.
bool base64_decode(std::string_view in, std::string& out);

}  // namespace lavender
