// Helpers shared by the config parser tests.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "lavender/util/error.h"

namespace lavender::test {

inline nlohmann::json parse(const std::string& text) {
  return nlohmann::json::parse(text);
}

// Runs `fn`, expecting a lavender::Error whose message contains every one of `needles`.
template <class Fn>
void expect_config_error(Fn&& fn, std::initializer_list<std::string> needles) {
  try {
    fn();
    ADD_FAILURE() << "expected lavender::Error";
  } catch (const lavender::Error& e) {
    const std::string message = e.what();
    for (const std::string& needle : needles) {
      EXPECT_NE(message.find(needle), std::string::npos)
          << "message: " << message << "\nmissing: " << needle;
    }
  }
}

}  // namespace lavender::test
