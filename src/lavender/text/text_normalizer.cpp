#include "lavender/text/text_normalizer.h"

#include <nlohmann/json.hpp>

#include "lavender/text/tokenizer_json.h"
#include "lavender/text/unicode.h"
#include "lavender/util/error.h"

namespace lavender::text {
namespace {

using nlohmann::json;

std::string strip(std::string_view text, bool left, bool right) {
  std::u32string s = utf8_to_u32(text);
  size_t begin = 0, end = s.size();
  if (left)
    while (begin < end && is_space(s[begin])) ++begin;
  if (right)
    while (end > begin && is_space(s[end - 1])) --end;
  return u32_to_utf8(std::u32string_view(s).substr(begin, end - begin));
}

// tokenizers lower-cases character by character (to keep its alignments), so SpecialCasing's
// unconditional mappings apply (İ -> i̇) but the context-dependent final sigma does not.
std::string lowercase_each(std::string_view text) {
  std::u32string out;
  for (char32_t cp : utf8_to_u32(text)) {
    if (cp < 0x80) {
      out.push_back(cp >= U'A' && cp <= U'Z' ? cp + 0x20 : cp);
      continue;
    }
    out += to_lower(std::u32string(1, cp));
  }
  return u32_to_utf8(out);
}

std::string string_field(const json& spec, const char* key, const std::string& where) {
  if (!spec.contains(key) || !spec[key].is_string())
    throw Error(where + ": \"" + key + "\" is missing or not a string");
  return spec[key].get<std::string>();
}

}  // namespace

TextNormalizer TextNormalizer::from_json(const json& spec, const std::string& path) {
  TextNormalizer n;
  if (!spec.is_null()) n.add(spec, path);
  return n;
}

void TextNormalizer::add(const json& spec, const std::string& path) {
  const std::string type = tokenizer_json::type_of(spec);
  const std::string where = path + ": normalizer " + (type.empty() ? "?" : type);
  if (type == "Sequence") {
    if (!spec.contains("normalizers") || !spec["normalizers"].is_array())
      throw Error(where + ": \"normalizers\" is missing or not an array");
    for (const json& s : spec["normalizers"]) add(s, path);
    return;
  }
  Step step{};
  if (type == "Prepend") {
    step.kind = Kind::kPrepend;
    step.a = string_field(spec, "prepend", where);
  } else if (type == "Replace") {
    const json pattern = spec.value("pattern", json());
    if (!pattern.is_object() || !pattern.contains("String") || !pattern["String"].is_string())
      throw Error(where + ": only a literal {\"String\": ...} pattern is supported (found " +
                  pattern.dump() + ")");
    step.kind = Kind::kReplace;
    step.a = pattern["String"].get<std::string>();
    step.b = string_field(spec, "content", where);
  } else if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    step.kind = type == "NFC"    ? Kind::kNfc
                : type == "NFD"  ? Kind::kNfd
                : type == "NFKC" ? Kind::kNfkc
                                 : Kind::kNfkd;
  } else if (type == "Lowercase") {
    step.kind = Kind::kLowercase;
  } else if (type == "Strip") {
    step.kind = Kind::kStrip;
    step.left = tokenizer_json::flag(spec, "strip_left", true);
    step.right = tokenizer_json::flag(spec, "strip_right", true);
  } else {
    throw Error(where +
                " is not supported (supported: Sequence, Prepend, Replace with a literal "
                "pattern, NFC, NFD, NFKC, NFKD, Lowercase, Strip)");
  }
  steps_.push_back(std::move(step));
}

std::string TextNormalizer::apply(std::string_view text) const {
  std::string s(text);
  for (const Step& step : steps_) {
    switch (step.kind) {
      case Kind::kPrepend:
        if (!s.empty()) s = step.a + s;  // tokenizers prepends to non-empty text only
        break;
      case Kind::kReplace:
        s = replace_all(s, step.a, step.b);
        break;
      case Kind::kNfc:
        s = u32_to_utf8(to_normal_form(NormalForm::kNfc, utf8_to_u32(s)));
        break;
      case Kind::kNfd:
        s = u32_to_utf8(to_normal_form(NormalForm::kNfd, utf8_to_u32(s)));
        break;
      case Kind::kNfkc:
        s = u32_to_utf8(to_normal_form(NormalForm::kNfkc, utf8_to_u32(s)));
        break;
      case Kind::kNfkd:
        s = u32_to_utf8(to_normal_form(NormalForm::kNfkd, utf8_to_u32(s)));
        break;
      case Kind::kLowercase:
        s = lowercase_each(s);
        break;
      case Kind::kStrip:
        s = strip(s, step.left, step.right);
        break;
    }
  }
  return s;
}

}  // namespace lavender::text
