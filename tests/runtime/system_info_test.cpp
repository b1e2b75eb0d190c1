#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "lavender/runtime/system_info.h"

namespace lavender::runtime {
namespace {

SystemInfo fake(double gflops, bool reference, bool generic) {
  SystemInfo info;
  info.torch_version = "1.13.0";
  info.threads = 2;
  info.cores = 2;
  info.blas.name = reference ? "reference BLAS (netlib, unoptimised)" : "OpenBLAS (openmp)";
  info.blas.reference = reference;
  info.blas.generic_kernels = generic;
  info.matmul = {1024, gflops};
  return info;
}

TEST(SystemInfo, WarnsWhenMatmulIsSlowAndSaysWhy) {
  std::string fast = format_system_info(fake(180, false, false));
  EXPECT_EQ(fast.find("WARNING"), std::string::npos) << fast;
  EXPECT_NE(fast.find("180.0 GFLOP/s"), std::string::npos) << fast;

  std::string ref = format_system_info(fake(4, true, false));
  EXPECT_NE(ref.find("WARNING"), std::string::npos);
  EXPECT_NE(ref.find("libopenblas0-openmp"), std::string::npos) << ref;

  std::string generic = format_system_info(fake(9, false, true));
  EXPECT_NE(generic.find("OPENBLAS_CORETYPE"), std::string::npos) << generic;
}

TEST(SystemInfo, ThreadsAreSetAndMeasurementIsPositive) {
  EXPECT_EQ(configure_threads(1), 1);
  EXPECT_GE(available_cores(), 1);
  MatmulRate rate = measure_matmul(64, 0.01);
  EXPECT_EQ(rate.size, 64);
  EXPECT_GT(rate.gflops, 0.0);
  configure_threads(0);
}

const char* torchrun_env(const char* name) {
  return std::string(name) == "OMP_NUM_THREADS"    ? "1"
         : std::string(name) == "LOCAL_WORLD_SIZE" ? "4"
                                                   : nullptr;
}
const char* local_world_only(const char* name) {
  return std::string(name) == "LOCAL_WORLD_SIZE" ? "4096000" : nullptr;
}
const char* two_local(const char* name) {
  return std::string(name) == "LOCAL_WORLD_SIZE" ? "2" : nullptr;
}
const char* nothing_set(const char*) {
  return nullptr;
}
const char* bad_omp(const char* name) {
  return std::string(name) == "OMP_NUM_THREADS" ? "two" : nullptr;
}

// A rank takes the threads its launcher gives it, and never more than the cores.
TEST(SystemInfo, DefaultThreadsFollowTheLauncher) {
  EXPECT_EQ(default_threads(torchrun_env), 1);
  EXPECT_EQ(default_threads(nothing_set), available_cores());
  EXPECT_EQ(default_threads(two_local), std::max(1, available_cores() / 2));
  EXPECT_EQ(default_threads(bad_omp), available_cores());           // unreadable: ignored
  EXPECT_EQ(default_threads(local_world_only), available_cores());  // out of range: ignored
}

TEST(SystemInfo, FindsTheBlasLibTorchLoaded) {
  // LibTorch links libblas.so.3 on Debian; other builds may embed MKL (then no library shows).
  BlasInfo blas = detect_blas();
  EXPECT_FALSE(blas.name.empty());
}

}  // namespace
}  // namespace lavender::runtime
