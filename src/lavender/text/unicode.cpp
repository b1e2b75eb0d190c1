#include "lavender/text/unicode.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <cstdint>
#include <unordered_map>

namespace lavender::text {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

bool in_range(unsigned char b, unsigned char lo, unsigned char hi) {
  return b >= lo && b <= hi;
}

// Valid range for the second byte of a sequence led by `lead` (Unicode Table 3-7); the others
// are always 80..BF. Returns the sequence length, or 0 for a byte that cannot start one.
int sequence_length(unsigned char lead, unsigned char& lo, unsigned char& hi) {
  lo = 0x80;
  hi = 0xBF;
  if (lead < 0x80) return 1;
  if (in_range(lead, 0xC2, 0xDF)) return 2;
  if (in_range(lead, 0xE0, 0xEF)) {
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;  // no surrogates
    return 3;
  }
  if (in_range(lead, 0xF0, 0xF4)) {
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    return 4;
  }
  return 0;
}

// ICU's C API works on UTF-16; our strings only hold scalar values, so conversion cannot fail.
std::u16string to_utf16(std::u32string_view text) {
  std::u16string out;
  out.reserve(text.size());
  for (char32_t cp : text) {
    if (cp < 0x10000) {
      out.push_back(static_cast<char16_t>(cp));
    } else {
      out.push_back(static_cast<char16_t>(0xD7C0 + (cp >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 | (cp & 0x3FF)));
    }
  }
  return out;
}

std::u32string from_utf16(const std::u16string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char32_t u = text[i];
    if (u >= 0xD800 && u < 0xDC00 && i + 1 < text.size() && text[i + 1] >= 0xDC00 &&
        text[i + 1] < 0xE000) {
      u = 0x10000 + ((u - 0xD800) << 10) + (text[++i] - 0xDC00);
    }
    out.push_back(u);
  }
  return out;
}

bool is_ascii(std::u32string_view text) {
  for (char32_t cp : text)
    if (cp >= 0x80) return false;
  return true;
}

// Runs an ICU string transform with the usual preflight-and-retry on a too-small buffer.
template <typename Transform>
std::u32string icu_transform(std::u32string_view text, Transform transform) {
  const std::u16string src = to_utf16(text);
  std::u16string dest(src.size() + 16, u'\0');
  for (int attempt = 0; attempt < 2; ++attempt) {
    UErrorCode status = U_ZERO_ERROR;
    int32_t n = transform(dest.data(), static_cast<int32_t>(dest.size()), src.data(),
                          static_cast<int32_t>(src.size()), &status);
    if (status == U_BUFFER_OVERFLOW_ERROR) {
      dest.assign(static_cast<size_t>(n), u'\0');
      continue;
    }
    if (U_FAILURE(status)) return std::u32string(text);  // cannot happen for valid input
    dest.resize(static_cast<size_t>(n));
    return from_utf16(dest);
  }
  return std::u32string(text);
}

std::u32string normalize(const UNormalizer2* norm, std::u32string_view text) {
  if (norm == nullptr) return std::u32string(text);
  return icu_transform(text,
                       [norm](UChar* d, int32_t cap, const UChar* s, int32_t len, UErrorCode* st) {
                         return unorm2_normalize(norm, s, len, d, cap, st);
                       });
}

const UNormalizer2* nfc_instance() {
  static const UNormalizer2* norm = [] {
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2* n = unorm2_getNFCInstance(&status);
    return U_SUCCESS(status) ? n : nullptr;
  }();
  return norm;
}

const UNormalizer2* nfkc_instance() {
  static const UNormalizer2* norm = [] {
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2* n = unorm2_getNFKCInstance(&status);
    return U_SUCCESS(status) ? n : nullptr;
  }();
  return norm;
}

const UNormalizer2* nfd_instance() {
  static const UNormalizer2* norm = [] {
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2* n = unorm2_getNFDInstance(&status);
    return U_SUCCESS(status) ? n : nullptr;
  }();
  return norm;
}

const UNormalizer2* nfkd_instance() {
  static const UNormalizer2* norm = [] {
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2* n = unorm2_getNFKDInstance(&status);
    return U_SUCCESS(status) ? n : nullptr;
  }();
  return norm;
}

// ---- html.unescape ----

struct Entity {
  const char* name;
  const char32_t* value;
  bool legacy;  // also recognised without the trailing ';'
};

// Generated from Python's html.entities.html5: every legacy name, and common ';' names.
const Entity kEntities[] = {
    {"AElig", U"\U000000C6", true},
    {"AMP", U"&", true},
    {"Aacute", U"\U000000C1", true},
    {"Acirc", U"\U000000C2", true},
    {"Agrave", U"\U000000C0", true},
    {"Aring", U"\U000000C5", true},
    {"Atilde", U"\U000000C3", true},
    {"Auml", U"\U000000C4", true},
    {"COPY", U"\U000000A9", true},
    {"Ccedil", U"\U000000C7", true},
    {"Dagger", U"\U00002021", false},
    {"ETH", U"\U000000D0", true},
    {"Eacute", U"\U000000C9", true},
    {"Ecirc", U"\U000000CA", true},
    {"Egrave", U"\U000000C8", true},
    {"Euml", U"\U000000CB", true},
    {"GT", U">", true},
    {"Iacute", U"\U000000CD", true},
    {"Icirc", U"\U000000CE", true},
    {"Igrave", U"\U000000CC", true},
    {"Iuml", U"\U000000CF", true},
    {"LT", U"<", true},
    {"NewLine", U"\U0000000A", false},
    {"Ntilde", U"\U000000D1", true},
    {"OElig", U"\U00000152", false},
    {"Oacute", U"\U000000D3", true},
    {"Ocirc", U"\U000000D4", true},
    {"Ograve", U"\U000000D2", true},
    {"Omega", U"\U000003A9", false},
    {"Oslash", U"\U000000D8", true},
    {"Otilde", U"\U000000D5", true},
    {"Ouml", U"\U000000D6", true},
    {"Prime", U"\U00002033", false},
    {"QUOT", U"\U00000022", true},
    {"REG", U"\U000000AE", true},
    {"Scaron", U"\U00000160", false},
    {"THORN", U"\U000000DE", true},
    {"Tab", U"\U00000009", false},
    {"Uacute", U"\U000000DA", true},
    {"Ucirc", U"\U000000DB", true},
    {"Ugrave", U"\U000000D9", true},
    {"Uuml", U"\U000000DC", true},
    {"Yacute", U"\U000000DD", true},
    {"Yuml", U"\U00000178", false},
    {"aacute", U"\U000000E1", true},
    {"acirc", U"\U000000E2", true},
    {"acute", U"\U000000B4", true},
    {"aelig", U"\U000000E6", true},
    {"agrave", U"\U000000E0", true},
    {"alpha", U"\U000003B1", false},
    {"amp", U"&", true},
    {"apos", U"'", false},
    {"aring", U"\U000000E5", true},
    {"asymp", U"\U00002248", false},
    {"atilde", U"\U000000E3", true},
    {"auml", U"\U000000E4", true},
    {"bdquo", U"\U0000201E", false},
    {"beta", U"\U000003B2", false},
    {"brvbar", U"\U000000A6", true},
    {"bull", U"\U00002022", false},
    {"ccedil", U"\U000000E7", true},
    {"cedil", U"\U000000B8", true},
    {"cent", U"\U000000A2", true},
    {"check", U"\U00002713", false},
    {"circ", U"\U000002C6", false},
    {"clubs", U"\U00002663", false},
    {"copy", U"\U000000A9", true},
    {"curren", U"\U000000A4", true},
    {"dagger", U"\U00002020", false},
    {"darr", U"\U00002193", false},
    {"deg", U"\U000000B0", true},
    {"delta", U"\U000003B4", false},
    {"diams", U"\U00002666", false},
    {"divide", U"\U000000F7", true},
    {"eacute", U"\U000000E9", true},
    {"ecirc", U"\U000000EA", true},
    {"egrave", U"\U000000E8", true},
    {"emsp", U"\U00002003", false},
    {"ensp", U"\U00002002", false},
    {"eth", U"\U000000F0", true},
    {"euml", U"\U000000EB", true},
    {"euro", U"\U000020AC", false},
    {"fnof", U"\U00000192", false},
    {"frac12", U"\U000000BD", true},
    {"frac14", U"\U000000BC", true},
    {"frac34", U"\U000000BE", true},
    {"gamma", U"\U000003B3", false},
    {"ge", U"\U00002265", false},
    {"gt", U">", true},
    {"harr", U"\U00002194", false},
    {"hearts", U"\U00002665", false},
    {"hellip", U"\U00002026", false},
    {"iacute", U"\U000000ED", true},
    {"icirc", U"\U000000EE", true},
    {"iexcl", U"\U000000A1", true},
    {"igrave", U"\U000000EC", true},
    {"infin", U"\U0000221E", false},
    {"iquest", U"\U000000BF", true},
    {"iuml", U"\U000000EF", true},
    {"lambda", U"\U000003BB", false},
    {"laquo", U"\U000000AB", true},
    {"larr", U"\U00002190", false},
    {"ldquo", U"\U0000201C", false},
    {"le", U"\U00002264", false},
    {"lrm", U"\U0000200E", false},
    {"lsaquo", U"\U00002039", false},
    {"lsquo", U"\U00002018", false},
    {"lt", U"<", true},
    {"macr", U"\U000000AF", true},
    {"mdash", U"\U00002014", false},
    {"micro", U"\U000000B5", true},
    {"middot", U"\U000000B7", true},
    {"minus", U"\U00002212", false},
    {"mu", U"\U000003BC", false},
    {"nbsp", U"\U000000A0", true},
    {"ndash", U"\U00002013", false},
    {"ne", U"\U00002260", false},
    {"not", U"\U000000AC", true},
    {"ntilde", U"\U000000F1", true},
    {"oacute", U"\U000000F3", true},
    {"ocirc", U"\U000000F4", true},
    {"oelig", U"\U00000153", false},
    {"ograve", U"\U000000F2", true},
    {"omega", U"\U000003C9", false},
    {"ordf", U"\U000000AA", true},
    {"ordm", U"\U000000BA", true},
    {"oslash", U"\U000000F8", true},
    {"otilde", U"\U000000F5", true},
    {"ouml", U"\U000000F6", true},
    {"para", U"\U000000B6", true},
    {"permil", U"\U00002030", false},
    {"phi", U"\U000003C6", false},
    {"pi", U"\U000003C0", false},
    {"plusmn", U"\U000000B1", true},
    {"pound", U"\U000000A3", true},
    {"prime", U"\U00002032", false},
    {"quot", U"\U00000022", true},
    {"raquo", U"\U000000BB", true},
    {"rarr", U"\U00002192", false},
    {"rdquo", U"\U0000201D", false},
    {"reg", U"\U000000AE", true},
    {"rlm", U"\U0000200F", false},
    {"rsaquo", U"\U0000203A", false},
    {"rsquo", U"\U00002019", false},
    {"sbquo", U"\U0000201A", false},
    {"scaron", U"\U00000161", false},
    {"sect", U"\U000000A7", true},
    {"shy", U"\U000000AD", true},
    {"sigma", U"\U000003C3", false},
    {"spades", U"\U00002660", false},
    {"star", U"\U00002606", false},
    {"sup1", U"\U000000B9", true},
    {"sup2", U"\U000000B2", true},
    {"sup3", U"\U000000B3", true},
    {"szlig", U"\U000000DF", true},
    {"theta", U"\U000003B8", false},
    {"thinsp", U"\U00002009", false},
    {"thorn", U"\U000000FE", true},
    {"tilde", U"\U000002DC", false},
    {"times", U"\U000000D7", true},
    {"trade", U"\U00002122", false},
    {"uacute", U"\U000000FA", true},
    {"uarr", U"\U00002191", false},
    {"ucirc", U"\U000000FB", true},
    {"ugrave", U"\U000000F9", true},
    {"uml", U"\U000000A8", true},
    {"uuml", U"\U000000FC", true},
    {"yacute", U"\U000000FD", true},
    {"yen", U"\U000000A5", true},
    {"yuml", U"\U000000FF", true},
    {"zwj", U"\U0000200D", false},
    {"zwnj", U"\U0000200C", false},
};

const std::unordered_map<std::string, const Entity*>& entity_table() {
  static const auto table = [] {
    std::unordered_map<std::string, const Entity*> t;
    for (const auto& e : kEntities) t.emplace(e.name, &e);
    return t;
  }();
  return table;
}

// Python's html._invalid_charrefs: C1 code points read as Windows-1252, NUL and CR.
char32_t invalid_charref(uint32_t n) {
  static const char32_t kC1[32] = {0x20AC, 0x81,   0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
                                   0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D,   0x017D, 0x8F,
                                   0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                   0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D,   0x017E, 0x0178};
  if (n == 0) return kReplacement;
  if (n == 0x0D) return U'\r';
  if (n >= 0x80 && n <= 0x9F) return kC1[n - 0x80];
  return 0;
}

// Python's html._invalid_codepoints: references to these produce nothing.
bool is_invalid_codepoint(uint32_t n) {
  return (n >= 0x1 && n <= 0x8) || n == 0xB || (n >= 0xE && n <= 0x1F) ||
         (n >= 0x7F && n <= 0x9F) || (n >= 0xFDD0 && n <= 0xFDEF) || (n & 0xFFFE) == 0xFFFE;
}

int hex_value(char32_t c) {
  if (c >= U'0' && c <= U'9') return static_cast<int>(c - U'0');
  if (c >= U'a' && c <= U'f') return static_cast<int>(c - U'a' + 10);
  if (c >= U'A' && c <= U'F') return static_cast<int>(c - U'A' + 10);
  return -1;
}

// `&#...` at text[pos] (pos at '&'). Appends the replacement, returns the characters consumed,
// or 0 when there are no digits (then the '&' is literal).
size_t unescape_numeric(std::u32string_view text, size_t pos, std::u32string& out) {
  size_t i = pos + 2;
  const bool hex = i < text.size() && (text[i] == U'x' || text[i] == U'X');
  if (hex) ++i;
  const int base = hex ? 16 : 10;
  const size_t digits_start = i;
  uint64_t n = 0;
  for (; i < text.size(); ++i) {
    int d = hex_value(text[i]);
    if (d < 0 || d >= base) break;
    n = n > 0x10FFFF ? n : n * base + static_cast<uint64_t>(d);  // saturate above the range
  }
  if (i == digits_start) return 0;
  if (i < text.size() && text[i] == U';') ++i;
  if (char32_t r = n <= 0x9F ? invalid_charref(static_cast<uint32_t>(n)) : 0) {
    out.push_back(r);
  } else if ((n >= 0xD800 && n <= 0xDFFF) || n > 0x10FFFF) {
    out.push_back(kReplacement);
  } else if (!is_invalid_codepoint(static_cast<uint32_t>(n))) {
    out.push_back(static_cast<char32_t>(n));
  }
  return i - pos;
}

// `&name` at text[pos]. Python matches up to 32 characters other than \t\n\f space < & # ;, then
// an optional ';'; the whole name, or failing that its longest legacy prefix, is replaced.
size_t unescape_named(std::u32string_view text, size_t pos, std::u32string& out) {
  size_t end = pos + 1;
  std::string name;  // entity names are ASCII; a non-ASCII char just makes the lookup fail
  while (end < text.size() && end - pos - 1 < 32) {
    char32_t c = text[end];
    if (c == U'\t' || c == U'\n' || c == U'\f' || c == U' ' || c == U'<' || c == U'&' ||
        c == U'#' || c == U';')
      break;
    name.push_back(c < 0x80 ? static_cast<char>(c) : '\x01');
    ++end;
  }
  if (name.empty()) return 0;
  const bool semicolon = end < text.size() && text[end] == U';';
  const auto& table = entity_table();
  auto it = table.find(name);
  if (it != table.end() && (semicolon || it->second->legacy)) {
    out += it->second->value;
    return end - pos + (semicolon ? 1 : 0);
  }
  // Longest proper prefix (at least 2 characters) that is a legacy name.
  const size_t full = name.size() + (semicolon ? 1 : 0);
  for (size_t len = full - 1; len >= 2; --len) {
    if (len > name.size()) continue;
    auto p = table.find(name.substr(0, len));
    if (p != table.end() && p->second->legacy) {
      out += p->second->value;
      return 1 + len;
    }
  }
  return 0;
}

// ---- ftfy subset ----

// ftfy's fix_latin_ligatures table.
const char32_t* ligature(char32_t cp) {
  switch (cp) {
    case 0x0132:
      return U"IJ";
    case 0x0133:
      return U"ij";
    case 0x0149:
      return U"\u02BCn";
    case 0x01C4:
      return U"D\u017D";
    case 0x01C5:
      return U"D\u017E";
    case 0x01C6:
      return U"d\u017E";
    case 0x01C7:
      return U"LJ";
    case 0x01C8:
      return U"Lj";
    case 0x01C9:
      return U"lj";
    case 0x01CA:
      return U"NJ";
    case 0x01CB:
      return U"Nj";
    case 0x01CC:
      return U"nj";
    case 0xFB00:
      return U"ff";
    case 0xFB01:
      return U"fi";
    case 0xFB02:
      return U"fl";
    case 0xFB03:
      return U"ffi";
    case 0xFB04:
      return U"ffl";
    case 0xFB05:
      return U"\u017Ft";
    case 0xFB06:
      return U"st";
    default:
      return nullptr;
  }
}

// ftfy's remove_control_chars set (tab, newlines, form feed and CR are kept).
bool is_removed_control(char32_t cp) {
  return cp <= 0x08 || cp == 0x0B || (cp >= 0x0E && cp <= 0x1F) || cp == 0x7F ||
         (cp >= 0x206A && cp <= 0x206F) || cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFC);
}

// ftfy's fix_character_width: the NFKC form of the half-/full-width block, and U+3000.
void append_width_fixed(char32_t cp, std::u32string& out) {
  if (cp == 0x3000) {
    out.push_back(U' ');
  } else if (cp >= 0xFF01 && cp <= 0xFFEF) {
    out += normalize(nfkc_instance(), std::u32string(1, cp));
  } else {
    out.push_back(cp);
  }
}

char32_t uncurl(char32_t cp) {
  if (cp == 0x02BC || (cp >= 0x2018 && cp <= 0x201B)) return U'\'';
  if (cp >= 0x201C && cp <= 0x201F) return U'"';
  return cp;
}

}  // namespace

std::u32string utf8_to_u32(std::string_view utf8) {
  std::u32string out;
  out.reserve(utf8.size());
  size_t i = 0;
  while (i < utf8.size()) {
    const auto lead = static_cast<unsigned char>(utf8[i]);
    unsigned char lo = 0, hi = 0;
    const int len = sequence_length(lead, lo, hi);
    if (len == 1) {
      out.push_back(lead);
      ++i;
      continue;
    }
    if (len == 0) {
      out.push_back(kReplacement);
      ++i;
      continue;
    }
    char32_t cp = lead & (0x7F >> len);
    int k = 1;
    for (; k < len && i + k < utf8.size(); ++k) {
      const auto b = static_cast<unsigned char>(utf8[i + k]);
      if (!in_range(b, k == 1 ? lo : 0x80, k == 1 ? hi : 0xBF)) break;
      cp = (cp << 6) | (b & 0x3F);
    }
    out.push_back(k == len ? cp : kReplacement);  // a maximal invalid subpart is one U+FFFD
    i += k;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string u32_to_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) append_utf8(out, cp);
  return out;
}

bool is_letter(char32_t cp) {
  if (cp < 0x80) return (cp | 0x20) >= U'a' && (cp | 0x20) <= U'z';
  return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_L_MASK) != 0;
}

bool is_number(char32_t cp) {
  if (cp < 0x80) return cp >= U'0' && cp <= U'9';
  return (U_GET_GC_MASK(static_cast<UChar32>(cp)) & U_GC_N_MASK) != 0;
}

bool is_space(char32_t cp) {
  if (cp < 0x80) return cp == U' ' || (cp >= 0x09 && cp <= 0x0D);
  return u_isUWhiteSpace(static_cast<UChar32>(cp)) != 0;
}

bool is_valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    int len;
    char32_t min;
    if ((b & 0xE0) == 0xC0)
      len = 2, min = 0x80;
    else if ((b & 0xF0) == 0xE0)
      len = 3, min = 0x800;
    else if ((b & 0xF8) == 0xF0)
      len = 4, min = 0x10000;
    else
      return false;
    if (i + static_cast<size_t>(len) > s.size()) return false;
    char32_t c = b & (0x7F >> len);
    for (int k = 1; k < len; ++k) {
      const auto cb = static_cast<unsigned char>(s[i + k]);
      if ((cb & 0xC0) != 0x80) return false;
      c = c << 6 | (cb & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return false;
    i += static_cast<size_t>(len);
  }
  return true;
}

std::string_view valid_utf8_view(std::string_view text, std::string& storage) {
  if (is_valid_utf8(text)) return text;
  storage = u32_to_utf8(utf8_to_u32(text));
  return storage;
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  if (from.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  for (size_t hit; (hit = text.find(from, i)) != std::string_view::npos; i = hit + from.size()) {
    out.append(text.substr(i, hit - i));
    out.append(to);
  }
  out.append(text.substr(i));
  return out;
}

std::u32string to_lower(std::u32string_view text) {
  if (is_ascii(text)) {
    std::u32string out(text);
    for (char32_t& c : out)
      if (c >= U'A' && c <= U'Z') c += 0x20;
    return out;
  }
  return icu_transform(text, [](UChar* d, int32_t cap, const UChar* s, int32_t len,
                                UErrorCode* st) { return u_strToLower(d, cap, s, len, "", st); });
}

std::u32string nfc(std::u32string_view text) {
  if (is_ascii(text)) return std::u32string(text);
  return normalize(nfc_instance(), text);
}

std::u32string to_normal_form(NormalForm form, std::u32string_view text) {
  if (is_ascii(text)) return std::u32string(text);  // ASCII is invariant under all four
  switch (form) {
    case NormalForm::kNfc:
      return normalize(nfc_instance(), text);
    case NormalForm::kNfd:
      return normalize(nfd_instance(), text);
    case NormalForm::kNfkc:
      return normalize(nfkc_instance(), text);
    case NormalForm::kNfkd:
      return normalize(nfkd_instance(), text);
  }
  return std::u32string(text);
}

std::u32string html_unescape(std::u32string_view text) {
  if (text.find(U'&') == std::u32string_view::npos) return std::u32string(text);
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != U'&') {
      out.push_back(text[i++]);
      continue;
    }
    const bool numeric = i + 1 < text.size() && text[i + 1] == U'#';
    const size_t used = numeric ? unescape_numeric(text, i, out) : unescape_named(text, i, out);
    if (used == 0) out.push_back(U'&');
    i += used == 0 ? 1 : used;
  }
  return out;
}

std::u32string fix_text_basic(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t cp : text) {
    if (const char32_t* lig = ligature(cp)) {
      for (const char32_t* p = lig; *p; ++p) out.push_back(uncurl(*p));
    } else if (!is_removed_control(cp)) {
      const size_t start = out.size();
      append_width_fixed(cp, out);
      for (size_t k = start; k < out.size(); ++k) out[k] = uncurl(out[k]);
    }
  }
  return nfc(out);
}

std::u32string clean_whitespace(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (char32_t cp : text) {
    if (is_space(cp)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(U' ');
    pending_space = false;
    out.push_back(cp);
  }
  return out;
}

}  // namespace lavender::text
