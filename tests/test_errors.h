// Reading the message of an expected lavender::Error in tests.
#pragma once

#include <string>

#include "lavender/util/error.h"

namespace lavender::test {

// The message of the lavender::Error `f` throws ("" when it throws none).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace lavender::test
