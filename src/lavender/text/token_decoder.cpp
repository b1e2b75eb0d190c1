#include "lavender/text/token_decoder.h"

#include <nlohmann/json.hpp>

#include "lavender/text/tokenizer_json.h"
#include "lavender/text/unicode.h"
#include "lavender/util/error.h"

namespace lavender::text {
namespace {

using nlohmann::json;

// "<0xE6>" -> 0xE6; -1 for any other token.
int fallback_byte(const std::string& token) {
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return -1;
  int value = 0;
  for (size_t i = 3; i < 5; ++i) {
    const char c = token[i];
    const int digit = c >= '0' && c <= '9'   ? c - '0'
                      : c >= 'A' && c <= 'F' ? c - 'A' + 10
                      : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                             : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

// The one character of a Strip/Metaspace field.
std::string single_char(const json& spec, const char* key, const std::string& where) {
  if (!spec.contains(key) || !spec[key].is_string() ||
      utf8_to_u32(spec[key].get<std::string>()).size() != 1)
    throw Error(where + ": \"" + key + "\" is not a single character");
  return spec[key].get<std::string>();
}

size_t count_field(const json& spec, const char* key, const std::string& where) {
  if (!spec.contains(key) || !spec[key].is_number_integer() || spec[key].get<int64_t>() < 0)
    throw Error(where + ": \"" + key + "\" is not a non-negative integer");
  return static_cast<size_t>(spec[key].get<int64_t>());
}

}  // namespace

TokenDecoder TokenDecoder::from_json(const json& spec, const std::string& path) {
  TokenDecoder d;
  if (!spec.is_null()) {
    d.has_steps_ = true;
    d.add(spec, path);
  }
  return d;
}

void TokenDecoder::add(const json& spec, const std::string& path) {
  const std::string type = tokenizer_json::type_of(spec);
  const std::string where = path + ": decoder " + (type.empty() ? "?" : type);
  if (type == "Sequence") {
    if (!spec.contains("decoders") || !spec["decoders"].is_array())
      throw Error(where + ": \"decoders\" is missing or not an array");
    for (const json& s : spec["decoders"]) add(s, path);
    return;
  }
  Step step{};
  if (type == "Replace") {
    const json pattern = spec.value("pattern", json());
    if (!pattern.is_object() || !pattern.contains("String") || !pattern["String"].is_string() ||
        !spec.contains("content") || !spec["content"].is_string())
      throw Error(where +
                  ": only a literal {\"String\": ...} pattern with a string content is "
                  "supported");
    step.kind = Kind::kReplace;
    step.a = pattern["String"].get<std::string>();
    step.b = spec["content"].get<std::string>();
  } else if (type == "ByteFallback") {
    step.kind = Kind::kByteFallback;
  } else if (type == "Fuse") {
    step.kind = Kind::kFuse;
  } else if (type == "Strip") {
    step.kind = Kind::kStrip;
    step.a = single_char(spec, "content", where);
    step.start = count_field(spec, "start", where);
    step.stop = count_field(spec, "stop", where);
  } else if (type == "Metaspace") {
    step.kind = Kind::kMetaspace;
    step.a = single_char(spec, "replacement", where);
    const json scheme = spec.value("prepend_scheme", json());
    step.prepended = scheme.is_string() ? scheme.get<std::string>() != "never"
                                        : tokenizer_json::flag(spec, "add_prefix_space", true);
  } else {
    throw Error(where +
                " is not supported here (supported: Sequence, Replace with a literal pattern, "
                "ByteFallback, Fuse, Strip, Metaspace)");
  }
  steps_.push_back(std::move(step));
}

void TokenDecoder::run(const Step& step, std::vector<std::string>& tokens) {
  switch (step.kind) {
    case Kind::kReplace:
      for (std::string& t : tokens) t = replace_all(t, step.a, step.b);
      return;
    case Kind::kByteFallback: {
      std::vector<std::string> out;
      std::string bytes;
      size_t run_length = 0;
      auto flush = [&] {
        if (run_length == 0) return;
        if (is_valid_utf8(bytes)) {
          out.push_back(bytes);
        } else {
          for (size_t i = 0; i < run_length; ++i) out.push_back("\xEF\xBF\xBD");  // U+FFFD
        }
        bytes.clear();
        run_length = 0;
      };
      for (std::string& t : tokens) {
        const int b = fallback_byte(t);
        if (b >= 0) {
          bytes.push_back(static_cast<char>(b));
          ++run_length;
          continue;
        }
        flush();
        out.push_back(std::move(t));
      }
      flush();
      tokens = std::move(out);
      return;
    }
    case Kind::kFuse: {
      std::string all;
      for (const std::string& t : tokens) all += t;
      tokens.assign(1, std::move(all));
      return;
    }
    case Kind::kStrip:
      for (std::string& t : tokens) {
        size_t begin = 0, end = t.size();
        for (size_t n = 0; n < step.start && t.compare(begin, step.a.size(), step.a) == 0; ++n)
          begin += step.a.size();
        for (size_t n = 0; n < step.stop && end >= begin + step.a.size() &&
                           t.compare(end - step.a.size(), step.a.size(), step.a) == 0;
             ++n)
          end -= step.a.size();
        t = t.substr(begin, end - begin);
      }
      return;
    case Kind::kMetaspace:
      // The first token loses every replacement character when encoding prepended one.
      for (size_t i = 0; i < tokens.size(); ++i)
        tokens[i] = replace_all(tokens[i], step.a, i == 0 && step.prepended ? "" : " ");
      return;
  }
}

std::string TokenDecoder::decode(std::vector<std::string> tokens) const {
  if (!has_steps_) {
    std::string out;
    for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
    return out;
  }
  for (const Step& step : steps_) run(step, tokens);
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

}  // namespace lavender::text
