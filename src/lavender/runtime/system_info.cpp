#include "lavender/runtime/system_info.h"

#include <dlfcn.h>
#include <link.h>
#include <sched.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

namespace lavender::runtime {
namespace {

int collect_blas_path(struct dl_phdr_info* info, size_t, void* data) {
  auto* found = static_cast<std::vector<std::string>*>(data);
  std::string name = info->dlpi_name ? info->dlpi_name : "";
  std::string base = std::filesystem::path(name).filename().string();
  if (base.find("blas") != std::string::npos || base.find("mkl_rt") != std::string::npos ||
      base.find("libmkl") != std::string::npos)
    found->push_back(name);
  return 0;
}

std::string resolve(const std::string& path) {
  std::error_code ec;
  auto p = std::filesystem::canonical(path, ec);
  return ec ? path : p.string();
}

}  // namespace

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? static_cast<int>(n) : 1;
}

int default_threads(const char* (*env)(const char*)) {
  auto get = [&](const char* name) -> int {
    const char* v = env ? env(name) : std::getenv(name);
    if (!v || !*v) return 0;
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    return *end == '\0' && n > 0 && n < 4096 ? static_cast<int>(n) : 0;
  };
  if (int omp = get("OMP_NUM_THREADS")) return omp;
  const int local = get("LOCAL_WORLD_SIZE");
  return std::max(1, available_cores() / std::max(local, 1));
}

int configure_threads(int requested) {
  int n = requested > 0 ? requested : available_cores();
  at::set_num_threads(n);
  return at::get_num_threads();
}

BlasInfo detect_blas() {
  std::vector<std::string> libs;
  dl_iterate_phdr(collect_blas_path, &libs);
  BlasInfo info;
  // The generic libblas.so.3 is what LibTorch links; what it resolves to decides the speed.
  for (const auto& lib : libs) {
    std::string real = resolve(lib);
    if (info.library.empty() || real.find("libblas.so") != std::string::npos) info.library = real;
  }
  const std::string& lib = info.library;
  if (lib.empty()) {
    info.name = "none found among loaded libraries (LibTorch may embed MKL)";
  } else if (lib.find("openblas") != std::string::npos) {
    info.name = "OpenBLAS";
    if (lib.find("openmp") != std::string::npos) info.name += " (openmp)";
    if (lib.find("pthread") != std::string::npos) info.name += " (pthread)";
    if (lib.find("serial") != std::string::npos) info.name += " (serial)";
  } else if (lib.find("mkl") != std::string::npos) {
    info.name = "Intel MKL";
  } else if (lib.find("blis") != std::string::npos) {
    info.name = "BLIS";
  } else if (lib.find("atlas") != std::string::npos) {
    info.name = "ATLAS";
  } else if (lib.find("/blas/") != std::string::npos) {
    info.name = "reference BLAS (netlib, unoptimised)";
    info.reference = true;
  } else {
    info.name = "unknown";
  }
  using ConfigFn = char* (*)();
  if (auto config = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config")))
    info.details = config();
  if (auto core = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"))) {
    std::string name = core();
    info.details += std::string(info.details.empty() ? "" : "; ") + "core " + name;
    info.generic_kernels = name == "Prescott" || name == "Core2" || name == "generic";
  }
  if (const char* forced = std::getenv("OPENBLAS_CORETYPE"))
    info.details += std::string("; OPENBLAS_CORETYPE=") + forced;
  return info;
}

MatmulRate measure_matmul(int n, double min_seconds) {
  at::Tensor a = at::randn({n, n});
  at::Tensor b = at::randn({n, n});
  at::Tensor c = at::mm(a, b);  // warm-up: thread pool start, page faults
  using clock = std::chrono::steady_clock;
  int reps = 0;
  auto start = clock::now();
  double elapsed = 0;
  do {
    at::mm_out(c, a, b);
    ++reps;
    elapsed = std::chrono::duration<double>(clock::now() - start).count();
  } while (elapsed < min_seconds);
  MatmulRate rate;
  rate.size = n;
  rate.gflops = 2.0 * n * n * static_cast<double>(n) * reps / elapsed / 1e9;
  return rate;
}

SystemInfo collect_system_info(bool measure) {
  SystemInfo info;
#ifdef LAVENDER_VERSION
  info.lavender_version = LAVENDER_VERSION;
#endif
  info.torch_version = TORCH_VERSION;
  info.threads = at::get_num_threads();
  info.cores = available_cores();
  info.blas = detect_blas();
  info.cuda_devices = static_cast<int>(torch::cuda::device_count());
  if (measure) info.matmul = measure_matmul();
  return info;
}

std::string format_system_info(const SystemInfo& info) {
  std::ostringstream s;
  s << "lavender      " << info.lavender_version << "\n"
    << "LibTorch      " << info.torch_version << "\n"
    << "threads       " << info.threads << " (cores available: " << info.cores << ")\n"
    << "BLAS          " << info.blas.name << "\n";
  if (!info.blas.library.empty()) s << "  library     " << info.blas.library << "\n";
  if (!info.blas.details.empty()) s << "  config      " << info.blas.details << "\n";
  s << "CUDA devices  " << info.cuda_devices << "\n";
  if (info.matmul.size > 0) {
    char buf[128];
    std::snprintf(buf, sizeof buf, "%.1f GFLOP/s (fp32 %dx%dx%d, %d threads)", info.matmul.gflops,
                  info.matmul.size, info.matmul.size, info.matmul.size, info.threads);
    s << "matmul        " << buf << "\n";
    if (info.matmul.gflops < kSlowMatmulGflops || info.blas.reference) {
      s << "WARNING: matrix multiplication is slow";
      if (info.blas.reference)
        s << " because LibTorch calls the reference BLAS: install an optimised one "
             "(scripts/setup.sh installs libopenblas0-openmp and selects it)";
      else if (info.blas.generic_kernels)
        s << " because OpenBLAS does not recognise this CPU and uses generic kernels: "
             "set OPENBLAS_CORETYPE (e.g. Haswell or SkylakeX) in the environment";
      else
        s << ": check --threads and what else is running";
      s << ".\n";
    }
  }
  return s.str();
}

}  // namespace lavender::runtime
