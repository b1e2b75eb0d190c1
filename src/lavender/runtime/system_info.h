// What a user needs to know about the machine before trusting a timing: LibTorch version,
// threads, which BLAS LibTorch actually calls, CUDA devices, and a measured matmul rate.
#pragma once

#include <string>

namespace lavender::runtime {

// Sets LibTorch's intra-op threads (Debian's build starts with 1). `requested` <= 0 means the
// number of cores available to this process. Returns the count in effect.
int configure_threads(int requested);
int available_cores();

// The intra-op threads a process should use when it was not told (--threads 0): the launcher's
// OMP_NUM_THREADS (torchrun sets 1 for several processes per node) when set, else the available
// cores shared among LOCAL_WORLD_SIZE processes on this host (at least 1), else every core.
// `env` looks a variable up (nullptr: unset).
int default_threads(const char* (*env)(const char*) = nullptr);

struct BlasInfo {
  std::string library;     // resolved path of the BLAS library mapped into this process
  std::string name;        // "OpenBLAS (openmp)", "reference BLAS", "MKL", ...
  std::string details;     // e.g. OpenBLAS' own config string and core name
  bool reference = false;  // the slow netlib reference implementation
  // OpenBLAS fell back to its generic kernels (a CPU newer than the library; set
  // OPENBLAS_CORETYPE, e.g. Haswell or SkylakeX, before starting the program).
  bool generic_kernels = false;
};
BlasInfo detect_blas();

struct MatmulRate {
  int size = 0;  // n for an n×n×n fp32 matmul
  double gflops = 0;
};
// Times n×n fp32 matmuls on the CPU for at least `min_seconds` after a warm-up.
MatmulRate measure_matmul(int n = 1024, double min_seconds = 0.5);

// Below this a BLAS is almost surely the reference one or misconfigured (measured: reference
// BLAS ~4 GFLOP/s, OpenBLAS ~200 on a 2-core machine).
constexpr double kSlowMatmulGflops = 20.0;

struct SystemInfo {
  std::string lavender_version;
  std::string torch_version;
  int threads = 0;
  int cores = 0;
  BlasInfo blas;
  int cuda_devices = 0;
  MatmulRate matmul;
};
SystemInfo collect_system_info(bool measure = true);
// Human-readable report; ends with a warning line when the matmul rate says BLAS is slow.
std::string format_system_info(const SystemInfo& info);

}  // namespace lavender::runtime
