#include "lavender/util/base64.h"

#include <gtest/gtest.h>

namespace lavender {
namespace {

TEST(Base64, EncodesWithPaddingAndRoundTrips) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  std::string back;
  ASSERT_TRUE(base64_decode(base64_encode(all), back));
  EXPECT_EQ(back, all);
  EXPECT_FALSE(base64_decode("Zm9v!", back));
}

}  // namespace
}  // namespace lavender
