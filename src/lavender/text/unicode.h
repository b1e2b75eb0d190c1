// Unicode helpers for tokenizers: UTF-8 <-> code points, character classes and the text clean-up
// that OpenAI's CLIP tokenizer applies before splitting (ftfy subset, html.unescape, whitespace,
// lower-casing). Character data and case mapping come from ICU, so classes and mappings follow
// the Unicode standard rather than a hand-written table. Torch-free.
#pragma once

#include <string>
#include <string_view>

namespace lavender::text {

// Decodes UTF-8. Each maximal invalid subsequence (stray continuation byte, truncated sequence,
// overlong form, surrogate, value above U+10FFFF) becomes one U+FFFD, as Python's
// `bytes.decode("utf-8", errors="replace")` does, so any byte string can be tokenized.
std::u32string utf8_to_u32(std::string_view utf8);
void append_utf8(std::string& out, char32_t cp);
std::string u32_to_utf8(std::u32string_view text);
// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or values above U+10FFFF).
bool is_valid_utf8(std::string_view s);
// `text` itself when it is valid UTF-8; otherwise a copy in `storage` with each invalid
// sequence as U+FFFD (what tokenizers encode, so that no input throws).
std::string_view valid_utf8_view(std::string_view text, std::string& storage);
// Every occurrence of `from` (not empty) in `text` replaced by `to`, left to right.
std::string replace_all(std::string_view text, std::string_view from, std::string_view to);

// Character classes as the `regex` module (which simple_tokenizer.py uses for both its
// whitespace clean-up and its split) sees them: \p{L}, \p{N}, and \s = the White_Space
// property (\t\n\v\f\r, space, U+0085, U+00A0, U+1680, U+2000..200A, U+2028/9, U+202F,
// U+205F, U+3000; not U+001C..1F, which Python's str.isspace() would add, nor U+200B).
bool is_letter(char32_t cp);
bool is_number(char32_t cp);
bool is_space(char32_t cp);

// Full Unicode lower-casing (SpecialCasing, final sigma), as Python's str.lower().
std::u32string to_lower(std::u32string_view text);
// Canonical composition (NFC).
std::u32string nfc(std::u32string_view text);
// Any of the four Unicode normalization forms (tokenizer.json's NFC/NFD/NFKC/NFKD normalizers).
enum class NormalForm { kNfc, kNfd, kNfkc, kNfkd };
std::u32string to_normal_form(NormalForm form, std::u32string_view text);

// Python's html.unescape: numeric references (with its replacements for invalid code points)
// and named references. Only a subset of the 2,231 HTML5 names is known: all 106 that may
// appear without ';' (the Latin-1 set plus amp/lt/gt/quot/copy/reg in both cases), including
// Python's longest-prefix rule for them, and ~65 common ones (apos, quotes, dashes, hellip,
// euro, trade, arrows, ...). Other names are left as written.
std::u32string html_unescape(std::u32string_view text);

// The parts of ftfy.fix_text that change ordinary text: Latin ligatures expanded, full-/half-width
// forms folded (U+FF01..U+FFEF by NFKC, U+3000 to space), curly quotes straightened, control
// characters removed, then NFC. Mojibake repair and terminal-escape removal are not done.
std::u32string fix_text_basic(std::u32string_view text);

// Collapses runs of is_space() characters to one ' ' and strips both ends.
std::u32string clean_whitespace(std::u32string_view text);

}  // namespace lavender::text
