// Answer normalisation in the manner of the VQA evaluation, so that "Two.", "2" and "two" score
// alike (https://visualqa.org/evaluation.html describes the official rules; this is our own code):
//   - ASCII lower-case; tabs and newlines become spaces;
//   - a comma between digits goes ("1,000" → "1000");
//   - a period goes unless a digit follows it (decimals "3.5" and ".5" stay; "3." → "3");
//   - other punctuation ( ; / [ ] " { } ( ) = + \ _ - > < @ ` , ? ! ) becomes a space; apostrophes
//     stay (they belong to contractions);
//   - number words zero..twenty (and "none") become digits; articles a, an, the are dropped;
//     common contractions written without their apostrophe get it back ("dont" → "don't");
//   - whitespace is collapsed to single spaces and trimmed.
// Torch-free (part of lavender_core).
#pragma once

#include <string>

namespace lavender::eval {

std::string normalize_answer(const std::string& answer);

// normalize_answer(a) == normalize_answer(b).
bool answers_match(const std::string& a, const std::string& b);

}  // namespace lavender::eval
