// The one exception type lavender throws for bad input or unsupported features.
// Messages always name the file (or source) and what is wrong, so the CLI can print
// them as they are.
#pragma once

#include <stdexcept>
#include <string>

namespace lavender {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace lavender
