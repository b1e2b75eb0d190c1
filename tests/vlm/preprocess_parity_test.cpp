#include <gtest/gtest.h>

#include "lavender/parity/parity.h"
#include "test_paths.h"

namespace lavender::parity {
namespace {

TEST(PreprocessParity, EveryOutputPasses) {
  const Report r = run_parity(test::fixture_dir("preprocess"));
  EXPECT_EQ(r.exit_code(), kExitPass) << r.format();
  EXPECT_EQ(r.comparisons.size(), 4u) << r.format();
  for (const Comparison& c : r.comparisons) EXPECT_LT(c.max_abs_diff, 1e-6) << c.name;
}

}  // namespace
}  // namespace lavender::parity
